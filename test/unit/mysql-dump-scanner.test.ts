/**
 * The streaming reader of mariadb-dump/mysqldump output: sections, selection, completeness,
 * the database-name rewrite, and that none of it depends on where chunk boundaries fall.
 * The sample has the shape of a real `mariadb-dump --single-transaction --routines --triggers
 * --events` of one database (MariaDB 10.11), with traps: a trigger body holding a marker-like
 * comment, row text holding marker-like and footer-like text, and a row line longer than the
 * longest marker.
 */
import { describe, expect, it } from 'vitest';
import { MysqlDumpScanner, type DumpSection } from '../../core/adapters/engines/mysql/mysql-dump-scanner.js';
import { dumpObjects, incompleteDumpError, missingSelectionError, selectionFilter, validationResult } from '../../core/adapters/engines/mysql/mysql-dump-checks.js';
import { IntegrityError, NotFoundError } from '../../core/errors.js';

const LONG_ROW = `(3,'${'x'.repeat(10_000)}');`;

const HEADER = `/*M!999999\\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: 127.0.0.1    Database: shop
-- ------------------------------------------------------
-- Server version\t10.11.19-MariaDB-0+deb12u1-log

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;
`;

const CUSTOMERS = `
--
-- Table structure for table \`customers\`
--

DROP TABLE IF EXISTS \`customers\`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE \`customers\` (
  \`id\` int(11) NOT NULL,
  \`name\` varchar(300) DEFAULT NULL COMMENT 'ends with;',
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table \`customers\`
--

LOCK TABLES \`customers\` WRITE;
/*!40000 ALTER TABLE \`customers\` DISABLE KEYS */;
INSERT INTO \`customers\` VALUES
(1,'line\\n-- Table structure for table \`fake\`\\nDELIMITER ;;'),
(2,'/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;'),
${LONG_ROW}
/*!40000 ALTER TABLE \`customers\` ENABLE KEYS */;
UNLOCK TABLES;
`;

const ORDERS = `
--
-- Table structure for table \`orders\`
--

DROP TABLE IF EXISTS \`orders\`;
CREATE TABLE \`orders\` (
  \`id\` int(11) NOT NULL,
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

--
-- Dumping data for table \`orders\`
--

LOCK TABLES \`orders\` WRITE;
INSERT INTO \`orders\` VALUES
(1),
(2);
UNLOCK TABLES;
ALTER DATABASE \`shop\` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=\`root\`@\`localhost\`*/ /*!50003 TRIGGER orders_after_insert AFTER INSERT ON orders FOR EACH ROW
BEGIN
-- Table structure for table \`not_a_section\`
  INSERT INTO orders_audit (order_id) VALUES (NEW.id);
END */;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
ALTER DATABASE \`shop\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ;
`;

const REST = `
--
-- Sequence structure for \`ids\`
--

DROP SEQUENCE IF EXISTS \`ids\`;
CREATE SEQUENCE \`ids\` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB;
DO SETVAL(\`ids\`, 1, 0);

--
-- Temporary table structure for view \`big\`
--

DROP TABLE IF EXISTS \`big\`;
/*!50001 DROP VIEW IF EXISTS \`big\`*/;
/*!50001 CREATE VIEW \`big\` AS SELECT
 1 AS \`id\` */;

--
-- Dumping events for database 'shop'
--
/*!50106 SET @save_time_zone= @@TIME_ZONE */ ;
/*!50106 DROP EVENT IF EXISTS \`nightly\` */;
DELIMITER ;;
ALTER DATABASE \`shop\` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;;
/*!50106 CREATE*/ /*!50117 DEFINER=\`root\`@\`localhost\`*/ /*!50106 EVENT \`nightly\` ON SCHEDULE EVERY 1 DAY STARTS '2037-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO delete from orders where id < 0 */ ;;
ALTER DATABASE \`shop\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ;;
DELIMITER ;
/*!50106 SET TIME_ZONE= @save_time_zone */ ;

--
-- Dumping routines for database 'shop'
--
/*!50003 DROP FUNCTION IF EXISTS \`total\` */;
DELIMITER ;;
CREATE DEFINER=\`root\`@\`localhost\` FUNCTION \`total\`(cid INT) RETURNS decimal(14,2)
BEGIN
-- Dumping routines for database 'elsewhere'
  RETURN (SELECT SUM(id) FROM orders);
END ;;
DELIMITER ;
/*!50003 DROP PROCEDURE IF EXISTS \`add_order\` */;
DELIMITER ;;
CREATE DEFINER=\`root\`@\`localhost\` PROCEDURE \`add_order\`(IN oid INT)
BEGIN
  INSERT INTO orders VALUES (oid);
END ;;
DELIMITER ;

--
-- Final view structure for view \`big\`
--

/*!50001 DROP VIEW IF EXISTS \`big\`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=\`root\`@\`localhost\` SQL SECURITY DEFINER */
/*!50001 VIEW \`big\` AS select \`orders\`.\`id\` AS \`id\` from \`orders\` */;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2026-11-22  4:50:48
`;

const DUMP = Buffer.from(HEADER + CUSTOMERS + ORDERS + REST, 'utf8');

/** Feeds `bytes` in chunks of the given sizes (cycled) and returns the output and the scanner. */
function scan(bytes: Buffer, sizes: readonly number[], options: ConstructorParameters<typeof MysqlDumpScanner>[0] = {}): { out: string; scanner: MysqlDumpScanner } {
  const scanner = new MysqlDumpScanner(options);
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    // Copies: the scanner must not rely on a chunk staying the same after push() returned.
    const chunk = Buffer.from(bytes.subarray(at, at + size));
    parts.push(...scanner.push(chunk).map((b) => Buffer.from(b)));
    chunk.fill(0);
    at += size;
  }
  parts.push(...scanner.end());
  return { out: Buffer.concat(parts).toString('utf8'), scanner };
}

const names = (sections: readonly DumpSection[]) => sections.map((s) => `${s.kind}${s.name === undefined ? '' : `:${s.name}`}`);

describe('MysqlDumpScanner', () => {
  it('finds every section, the routines and events, and the trailer; passes everything on unchanged by default', () => {
    const { out, scanner } = scan(DUMP, [DUMP.length]);
    expect(out).toBe(DUMP.toString('utf8'));
    expect(names(scanner.sections)).toEqual([
      'table:customers',
      'table-data:customers',
      'table:orders',
      'table-data:orders',
      'sequence:ids',
      'view-placeholder:big',
      'events:shop',
      'routines:shop',
      'view:big',
      'footer',
      'footer',
    ]);
    expect(scanner.routines).toEqual([
      { kind: 'event', name: 'nightly' },
      { kind: 'function', name: 'total' },
      { kind: 'procedure', name: 'add_order' },
    ]);
    expect(scanner.complete).toBe(true);
    expect(scanner.dumpHeader).toMatch(/^-- MariaDB dump 10\.19/);
    expect(dumpObjects(scanner).map((o) => `${o.kind}:${o.name}`)).toEqual(['view:big', 'table:customers', 'table:orders', 'sequence:ids', 'event:nightly', 'function:total', 'procedure:add_order']);
  });

  it('gives the same result wherever the chunk boundaries fall (1, 7, 4095/4097 bytes, mixed)', () => {
    const whole = scan(DUMP, [DUMP.length], { keep: selectionFilter(new Set(['orders', 'big'])), retargetAlterDatabase: true });
    for (const sizes of [[1], [7], [4095], [4097], [3, 5000, 1, 64 * 1024, 13]]) {
      const chunked = scan(DUMP, sizes, { keep: selectionFilter(new Set(['orders', 'big'])), retargetAlterDatabase: true });
      expect(chunked.out, `chunks of ${sizes.join('/')}`).toBe(whole.out);
      expect(chunked.scanner.sections).toEqual(whole.scanner.sections);
      expect(chunked.scanner.routines).toEqual(whole.scanner.routines);
      expect(chunked.scanner.complete).toBe(true);
    }
  });

  it('a selection keeps the header, the named tables (structure, rows, triggers) and views, and the footer; nothing else', () => {
    const { out } = scan(DUMP, [1000], { keep: selectionFilter(new Set(['orders', 'big'])) });
    expect(out.startsWith(HEADER)).toBe(true);
    expect(out).toContain(ORDERS.slice(1));
    expect(out).toContain('TRIGGER orders_after_insert');
    expect(out).toContain('/*!50001 VIEW `big` AS select');
    expect(out).toContain('/*!50001 CREATE VIEW `big` AS SELECT');
    expect(out).not.toContain('customers');
    expect(out).not.toContain('SEQUENCE');
    expect(out).not.toContain('EVENT');
    expect(out).not.toContain('FUNCTION');
    expect(out).not.toContain('PROCEDURE');
    expect(out.trimEnd().endsWith('/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n\n-- Dump completed on 2026-11-22  4:50:48')).toBe(true);
    // Every DELIMITER ;; it passes on is closed again.
    expect(out.match(/^DELIMITER ;;$/gm)?.length).toBe(out.match(/^DELIMITER ;$/gm)?.length);
  });

  it('a selection keeps the long row line whole; a marker right after it still counts', () => {
    const { out, scanner } = scan(DUMP, [512], { keep: selectionFilter(new Set(['customers'])) });
    expect(out).toContain(LONG_ROW);
    expect(names(scanner.sections)).toContain('table:orders');
    expect(out).not.toContain('CREATE TABLE `orders`');
  });

  it('marker-like lines inside a trigger or routine body, or inside row text, start no section', () => {
    const { scanner } = scan(DUMP, [DUMP.length]);
    expect(names(scanner.sections)).not.toContain('table:not_a_section');
    expect(names(scanner.sections)).not.toContain('table:fake');
    expect(names(scanner.sections)).not.toContain('routines:elsewhere');
    // The footer-like row text did not end the table sections early.
    expect(scanner.sections.findIndex((s) => s.kind === 'footer')).toBe(9);
  });

  it('rewrites ALTER DATABASE `source` to the current database only when asked, inside and outside DELIMITER blocks', () => {
    const plain = scan(DUMP, [DUMP.length]).out;
    expect(plain.match(/^ALTER DATABASE `shop` /gm)).toHaveLength(4);
    const { out } = scan(DUMP, [9], { retargetAlterDatabase: true });
    expect(out).not.toContain('ALTER DATABASE `shop`');
    expect(out).toContain('ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci ;\n');
    expect(out).toContain('ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci ;;\n');
    expect(out.replace(/^ALTER DATABASE CHARACTER SET/gm, 'ALTER DATABASE `shop` CHARACTER SET')).toBe(plain);
  });

  it('a dump cut short is incomplete, wherever it was cut', () => {
    for (const cut of [100, Math.floor(DUMP.length / 2), DUMP.length - 50, DUMP.length - 2]) {
      const { scanner } = scan(DUMP.subarray(0, cut), [333]);
      expect(scanner.complete, `cut at ${cut}`).toBe(false);
      expect(incompleteDumpError(scanner)).toBeInstanceOf(IntegrityError);
      expect(() => validationResult(scanner, [])).toThrow(/incomplete: it ends before the dump tool's "-- Dump completed" line/);
    }
    // A trailer followed by more statements is not the end either.
    const { scanner } = scan(Buffer.concat([DUMP, Buffer.from('DROP TABLE `orders`;\n')]), [DUMP.length]);
    expect(scanner.complete).toBe(false);
  });

  it('something that is not a dump is refused', () => {
    const { scanner } = scan(Buffer.from('SELECT 1;\n-- Dump completed on 2026-01-01\n'), [10]);
    expect(incompleteDumpError(scanner)?.message).toMatch(/not a mariadb-dump\/mysqldump SQL stream/);
  });
});

describe('validation and selection verdicts', () => {
  const scanner = scan(DUMP, [DUMP.length], { output: false }).scanner;

  it('counts what the dump holds', () => {
    expect(validationResult(scanner, [
      { kind: 'table', name: 'customers', rows: 3, rowsExact: true },
      { kind: 'table', name: 'orders' },
      { kind: 'sequence', name: 'ids' },
      { kind: 'view', name: 'big' },
      { kind: 'routine', name: 'total' },
      { kind: 'routine', name: 'add_order' },
      { kind: 'event', name: 'nightly' },
    ])).toBe('SQL stream complete; 2 table section(s), 1 sequence(s), 1 view(s), 2 routine(s), 1 event(s)');
  });

  it('names what the manifest lists and the dump lacks', () => {
    expect(() => validationResult(scanner, [{ kind: 'table', name: 'payments' }, { kind: 'view', name: 'customers' }, { kind: 'event', name: 'hourly' }])).toThrow(
      'the SQL stream lacks 3 object(s) the manifest lists (table payments, view customers, event hourly)',
    );
  });

  it('a selection naming a table the dump does not have is a NotFoundError', () => {
    expect(missingSelectionError(scanner, new Set(['orders', 'big']))).toBeUndefined();
    const error = missingSelectionError(scanner, new Set(['orders', 'payments']));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error?.message).toBe('the backup holds no table or view named payments');
  });
});
