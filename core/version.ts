/** Replaced at build time by esbuild's `define`; the fallback is for running from source (tests). */
declare const __VAULTRA_VERSION__: string | undefined;
export const VAULTRA_VERSION: string = typeof __VAULTRA_VERSION__ === 'string' ? __VAULTRA_VERSION__ : '0.0.0-dev';
