/** Placeholder: the throwaway MariaDB server for tests is being built. */
export interface MariadbConnection {
  /** `mariadb://user:password@127.0.0.1:port` (no database). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly socket: string;
  readonly serverVersion: string;
}

export interface MariadbServer extends MariadbConnection {
  stop(): Promise<void>;
}

export async function startMariadb(): Promise<MariadbServer> {
  throw new Error('the test MariaDB server is not built yet');
}
