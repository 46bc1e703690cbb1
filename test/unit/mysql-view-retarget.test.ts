/**
 * The dump scanner's view retargeting (`retargetViewsFrom`): a view whose DEFINER account no
 * longer exists is dumped with columns qualified by the source database, which must not reach a
 * restore under another name. Long definitions (past the marker length), non-UTF-8 bytes and
 * every chunk boundary included; nothing outside a final view definition is touched.
 */
import { describe, expect, it } from 'vitest';
import { MysqlDumpScanner } from '../../core/adapters/engines/mysql/mysql-dump-scanner.js';

const LONG_COLUMNS = Array.from({ length: 300 }, (_, i) => `\`shop db\`.\`t\`.\`column_${i}\` AS \`column_${i}\``).join(',');

const dump = (viewBody: Buffer) =>
  Buffer.concat([
    Buffer.from(`-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Dumping data for table \`t\`
--

INSERT INTO \`t\` VALUES ('\`shop db\`.\`t\` in a row stays');
--
-- Final view structure for view \`v\`
--

/*!50001 DROP VIEW IF EXISTS \`v\`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=\`gone\`@\`localhost\` SQL SECURITY DEFINER */
`),
    viewBody,
    Buffer.from(`
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;
-- Dump completed on 2026-12-07  3:16:19
`),
  ]);

/** The output's view definition line. */
const viewLine = (out: Buffer) => out.toString('latin1').split('\n').find((line) => line.startsWith('/*!50001 VIEW')) ?? '';

/** Feeds `input` in chunks of `size` bytes; returns what the scanner passed on. */
function scan(input: Buffer, size: number): Buffer {
  const scanner = new MysqlDumpScanner({ retargetViewsFrom: 'shop db' });
  const out: Buffer[] = [];
  for (let at = 0; at < input.length; at += size) out.push(...scanner.push(input.subarray(at, at + size)));
  out.push(...scanner.end());
  return Buffer.concat(out);
}

describe('MysqlDumpScanner retargetViewsFrom', () => {
  it.each([1, 7, 4096, 1 << 20])('removes the source database from a view definition, in chunks of %i bytes', (size) => {
    const body = Buffer.from('/*!50001 VIEW `v` AS select `shop db`.`t`.`id` AS `id` from `t` */;');

    const out = scan(dump(body), size).toString('utf8');

    expect(out).toContain('/*!50001 VIEW `v` AS select `t`.`id` AS `id` from `t` */;');
    expect(out).toContain("INSERT INTO `t` VALUES ('`shop db`.`t` in a row stays');");
  });

  it.each([1000, 4096])('rewrites a definition longer than any marker, in chunks of %i bytes', (size) => {
    const body = Buffer.from(`/*!50001 VIEW \`v\` AS select ${LONG_COLUMNS} from \`t\` */;`);

    const out = scan(dump(body), size);

    expect(body.length).toBeGreaterThan(4096);
    expect(viewLine(out)).not.toContain('`shop db`.');
    expect(viewLine(out)).toContain('`t`.`column_299` AS `column_299` from `t` */;');
  });

  it('keeps bytes that are not UTF-8 as they were', () => {
    const body = Buffer.concat([Buffer.from("/*!50001 VIEW `v` AS select `shop db`.`t`.`id` AS `id` from `t` where `t`.`b` = _latin1'"), Buffer.from([0xff, 0xfe]), Buffer.from("' */;")]);

    const out = scan(dump(body), 64);

    expect(out.includes(Buffer.concat([Buffer.from("= _latin1'"), Buffer.from([0xff, 0xfe]), Buffer.from("' */;")]))).toBe(true);
    expect(viewLine(out)).not.toContain('`shop db`.');
  });
});
