import { Transform, type TransformCallback } from 'node:stream';

const NEWLINE = 0x0a;

/**
 * The SQL `mariadb-binlog` prints sets each event group's GTID and origin server before it runs:
 * `SET @@session.gtid_domain_id=0`, `SET @@session.server_id=1`, `SET @@session.gtid_seq_no=7`.
 * Replayed into a server that already logged those GTIDs (the source itself, or any server of
 * its replication domain), they would be binlogged again out of order: refused under
 * gtid_strict_mode, and otherwise a GTID history replicas can no longer follow. Without them a
 * replayed transaction is an ordinary new transaction of the target, with the target's next
 * GTID and server id, exactly like the restored dump before it. (MariaDB 10.11's tool has no
 * `--skip-gtids`; setting these variables also needs SUPER, which a restore account may lack.)
 */
const ORIGIN_LINE = /^\/\*M?!100001 SET @@session\.(gtid_domain_id|server_id|gtid_seq_no)=\d+\*\/\/\*!\*\/;$/;
/** `#261206 18:58:00 server id 1  end_log_pos 1412 …`: an event's header comment, its time in the tool's time zone (UTC here). */
const EVENT_COMMENT = /^#(\d\d)(\d\d)(\d\d) +(\d?\d):(\d\d):(\d\d) server id \d+ /;
const GROUP_COMMENT = /\tGTID \d+-\d+-\d+( trans| ddl)?/;

/** What went through: transactions that committed (or DDL that ran), and the time of the last. */
export interface ReplayedSql {
  readonly groups: number;
  /** The event time of the last counted group's last event, seconds. */
  readonly lastAt?: number;
}

/**
 * Passes `mariadb-binlog`'s SQL through without the GTID/origin lines (see `ORIGIN_LINE`), and
 * counts the event groups it carries that change something in the replayed database: a group
 * the tool's `--database` filter emptied (another database's transaction, printed as a bare
 * START TRANSACTION … COMMIT) is not counted, nor the partial group a `--stop-datetime` cut
 * short (the tool ends it with ROLLBACK).
 */
export class BinlogSqlFilter extends Transform {
  private rest: Buffer | undefined;
  private groups = 0;
  private lastAt: number | undefined;
  private eventAt: number | undefined;
  private group: { ddl: boolean; changed: boolean } | undefined;
  private inBinlogStatement = false;

  get replayed(): ReplayedSql {
    return { groups: this.groups, ...(this.lastAt !== undefined ? { lastAt: this.lastAt } : {}) };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      let line = chunk.subarray(start, end + 1);
      if (this.rest) {
        line = Buffer.concat([this.rest, line]);
        this.rest = undefined;
      }
      if (this.keep(line)) out.push(line);
      start = end + 1;
    }
    if (start < chunk.length) this.rest = this.rest ? Buffer.concat([this.rest, chunk.subarray(start)]) : chunk.subarray(start);
    callback(null, out.length > 0 ? Buffer.concat(out) : undefined);
  }

  override _flush(callback: TransformCallback): void {
    if (this.rest && this.keep(this.rest)) this.push(this.rest);
    this.rest = undefined;
    callback();
  }

  /** Reads one line (with its newline); false drops it. */
  private keep(raw: Buffer): boolean {
    // Row images inside BINLOG '…' can be long; only short lines can be the ones looked for.
    if (this.inBinlogStatement) {
      if (raw.length < 16 && /'\/\*!\*\/;\s*$/.test(raw.toString('latin1'))) this.inBinlogStatement = false;
      return true;
    }
    const line = raw.toString('utf8').replace(/\r?\n$/, '');
    if (line.startsWith('#')) {
      const event = EVENT_COMMENT.exec(line);
      if (event) {
        const [, yy, mo, dd, hh, mi, ss] = event;
        const group = GROUP_COMMENT.exec(line);
        // The previous DDL group ends here, at the time of its own last event.
        if (group) this.endDdlGroup();
        this.eventAt = Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mi), Number(ss)) / 1000;
        if (group) this.group = { ddl: group[1] !== ' trans', changed: false };
      }
      return true;
    }
    if (ORIGIN_LINE.test(line)) return false;
    if (line.startsWith("BINLOG '")) {
      this.inBinlogStatement = !/'\/\*!\*\/;\s*$/.test(line);
      if (this.group) this.group.changed = true;
      return true;
    }
    if (!this.group) return true;
    if (/^COMMIT\b/.test(line)) {
      this.count(this.group.changed);
      this.group = undefined;
    } else if (/^ROLLBACK\b/.test(line)) {
      // The tool's closing ROLLBACK: a cut-short transaction is undone, a DDL statement has run.
      if (this.group.ddl) this.endDdlGroup();
      else this.group = undefined;
    } else if (/^[A-Za-z(]/.test(line) && !/^(SET|START TRANSACTION|BEGIN|DELIMITER|use )/i.test(line)) {
      this.group.changed = true;
    }
    return true;
  }

  /** A DDL group has no COMMIT: it ends where the next group starts. */
  private endDdlGroup(): void {
    if (this.group?.ddl) this.count(this.group.changed);
    this.group = undefined;
  }

  private count(changed: boolean): void {
    if (!changed) return;
    this.groups++;
    this.lastAt = this.eventAt;
  }

  /** Call once the stream ended: a trailing DDL group counts too. */
  finish(): ReplayedSql {
    this.endDdlGroup();
    return this.replayed;
  }
}
