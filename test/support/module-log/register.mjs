// `node --import <this file>`: logs every module URL the process loads, one per line, to the file
// in VAULTRA_TEST_MODULE_LOG. What the telemetry-off test reads to prove the SDK never loaded.
import { register } from 'node:module';

register('./resolve-hook.mjs', import.meta.url, { data: { log: process.env.VAULTRA_TEST_MODULE_LOG } });
