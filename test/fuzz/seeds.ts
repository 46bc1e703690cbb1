/**
 * Valid inputs for the fuzz targets, in the shapes Vaultra writes or reads them: what the
 * mutations start from.
 */
import { BSON, Int32, Long } from 'mongodb';
import { ARCHIVE_MAGIC, Crc64 } from '../../core/adapters/engines/mongodb/mongo-archive.js';

export const CONFIG_SEEDS: readonly string[] = [
  `# a local environment with anchors, defaults and every job field
version: 1
environments:
  dev:
    cloud: local
    storage: { url: "file:///srv/backups" }
    defaults:
      rpo: 26h
      timeout: 2h
      schedule: &nightly { cron: "0 3 * * *", timeZone: Europe/Paris }
      retention: { last: 3, daily: 7, weekly: 4 }
    jobs:
      shop:
        source: postgres://app@db.internal:5432/shop
        compression: { id: zstd, level: 3 }
        encryption: { recipients: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq], kms: false }
      files:
        source: dir:/srv/uploads
        schedule: *nightly
        notifyOnSuccess: true
      app-db:
        source: "sqlite:/var/lib/app/app.db"
        enabled: false
`,
  JSON.stringify({
    version: 1,
    environments: {
      prod: {
        cloud: 'aws',
        region: 'eu-west-1',
        account: '123456789012',
        storage: { prefix: 'vaultra', objectLock: { mode: 'GOVERNANCE', days: 30 } },
        network: { vpcId: 'vpc-0abc12345', subnetIds: ['subnet-0abc12345'] },
        notifications: { email: ['ops@example.com'], webhooks: [{ kind: 'slack', url: 'secret+aws://prod/slack' }] },
        defaults: { rpo: '1d' },
        jobs: { billing: { source: 'secret+aws://prod/billing', schedule: { cron: '*/15 * * * *' }, runtime: { cpu: 2048, memoryMiB: 4096 } } },
      },
    },
  }),
  `version: 1
environments:
  gcp-env:
    cloud: gcp
    region: europe-west1
    gcp: { project: my-project-123, network: default }
    defaults: { rpo: 26h }
    jobs:
      events: { source: "secret+gcp://projects/p/secrets/events", schedule: { cron: "30 1 * * 1-5" } }
  az:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-backups, storageAccount: vaultrabackups }
    defaults: { rpo: 26h }
    jobs:
      orders: { source: "env://ORDERS_URL", schedule: { cron: "0 */6 * * *" } }
`,
];

export const CONFIG_TOKENS: readonly string[] = [
  '&a ', '*a', '<<: *a\n', '? ', '[', ']', '{', '}', ': ', '- ', '\n  - ', '!!binary ', '!!set ', '!!omap ', '!!timestamp ', '!!int ', '!!float ', '!custom ',
  '%YAML 1.1\n---\n', '---\n', '...\n', '"', "'", '|\n', '>-\n', '#', '\t', '\r\n', '\\u0000', '\\x', 'null', '~', '0x1f', '1e999', '-.inf', '.nan', '0o777',
  '2026-01-01T00:00:00Z', 'env://', 'postgres://', 'postgres:///', 'mysql://', 'mongodb://,', 'sqlite://', 'dir: ', 'secret+aws://', '@', ':/', '?sslmode=',
  '\ufeff', '\u2028', 'version: 1\n', 'environments:\n', 'jobs:\n', 'cron: "', '60 25 32 13 8', 'rpo: 0s', 'timeout: 99999999d',
];

const RUN_ID = '20261122T031502.123Z-3f9c2a';

/** A manifest as `vaultra backup` writes it. */
export const MANIFEST_SEED = JSON.stringify(
  {
    schema: 'vaultra.manifest/v1',
    runId: RUN_ID,
    job: 'shop',
    startedAt: '2026-11-22T03:15:02.123Z',
    finishedAt: '2026-11-22T03:16:40.001Z',
    source: { engine: 'postgres', database: 'shop', serverVersion: '15.8' },
    dump: { tool: 'pg_dump', toolVersion: '15.8', format: 'pg_dump-custom', consistency: 'single transaction snapshot', details: { note: 'x' } },
    compression: { id: 'zstd', level: 3, implementation: 'zstd 1.5.4' },
    encryption: {
      format: 'age-v1',
      recipients: [
        { type: 'x25519', recipient: 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq' },
        { type: 'kms', service: 'aws-kms', keyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      ],
    },
    plaintextBytes: 123456,
    objects: [{ name: 'data.pgdump.zst.age', role: 'data', sizeBytes: 4567, sha256: 'a'.repeat(64) }],
    contents: [
      { kind: 'table', schema: 'public', name: 'orders', rows: 10, rowsExact: true },
      { kind: 'view', schema: 'public', name: 'recent' },
      { kind: 'directory', name: 'uploads', files: 3, bytes: 1024 },
    ],
    vaultraVersion: '0.1.0',
  },
  null,
  2,
);

export const MANIFEST_KEY = `shop/2026/11/22/${RUN_ID}/manifest.json`;

export const JSON_TOKENS: readonly string[] = [
  '{', '}', '[', ']', '"', ':', ',', 'null', 'true', 'false', '1e999', '-0', '0.5', '9007199254740993', '"\\u0000"', '"\\ud800"', '"__proto__"', '"constructor"',
  '"prototype"', '[[[[[[[[[[[[[[[[', '{"a":{"a":{"a":{"a":', 'NaN', '\ufeff', '"../../etc/passwd"', '"data/../manifest.json"', '"/abs"',
];

export const SQL_DUMP_SEED = `/*M!999999\\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: 127.0.0.1    Database: shop
-- ------------------------------------------------------
-- Server version\t10.11.19-MariaDB-0+deb12u1-log

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;

--
-- Table structure for table \`customers\`
--

DROP TABLE IF EXISTS \`customers\`;
CREATE TABLE \`customers\` (
  \`id\` int(11) NOT NULL,
  \`name\` varchar(300) DEFAULT NULL COMMENT 'ends with;',
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

--
-- Dumping data for table \`customers\`
--

LOCK TABLES \`customers\` WRITE;
INSERT INTO \`customers\` VALUES
(1,'line\\n-- Table structure for table \`fake\`\\nDELIMITER ;;'),
(2,'/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;'),
(3,'${'x'.repeat(5000)}');
UNLOCK TABLES;
ALTER DATABASE \`shop\` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=\`root\`@\`localhost\`*/ /*!50003 TRIGGER stamp BEFORE INSERT ON customers FOR EACH ROW BEGIN
-- Dumping data for table \`inside_trigger\`
SET NEW.name = NEW.name;
END */;;
DELIMITER ;
ALTER DATABASE \`shop\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ;

--
-- Temporary table structure for view \`recent\`
--

DROP TABLE IF EXISTS \`recent\`;
SET @saved_cs_client     = @@character_set_client;
/*!50001 CREATE VIEW \`recent\` AS SELECT 1 AS \`id\` */;

--
-- Sequence structure for \`s1\`
--

CREATE SEQUENCE \`s1\` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB;

--
-- Dumping events for database 'shop'
--
/*!50106 SET @save_time_zone= @@TIME_ZONE */ ;
/*!50106 DROP EVENT IF EXISTS \`nightly\` */;
DELIMITER ;;
/*!50106 CREATE*/ /*!50117 DEFINER=\`root\`@\`localhost\`*/ /*!50106 EVENT \`nightly\` ON SCHEDULE EVERY 1 DAY DO DELETE FROM customers WHERE id < 0 */ ;;
DELIMITER ;

--
-- Dumping routines for database 'shop'
--
/*!50003 DROP FUNCTION IF EXISTS \`total\` */;
DELIMITER ;;
CREATE DEFINER=\`root\`@\`localhost\` FUNCTION \`total\`() RETURNS int(11)
BEGIN
  RETURN (SELECT COUNT(*) FROM customers);
END ;;
DELIMITER ;

--
-- Final view structure for view \`recent\`
--

/*!50001 DROP VIEW IF EXISTS \`recent\`*/;
/*!50001 CREATE VIEW \`recent\` AS select \`customers\`.\`id\` AS \`id\` from \`customers\` */;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2026-11-22  3:15:02
`;

export const SQL_TOKENS: readonly string[] = [
  '\n-- Table structure for table `x`\n', '\n-- Dumping data for table `x`\n', '\n-- Final view structure for view `v`\n', '\n-- Temporary view structure for view `v`\n',
  '\n-- Sequence structure for `s`\n', "\n-- Dumping events for database 'shop'\n", "\n-- Dumping routines for database 'shop'\n", '\nDELIMITER ;;\n', '\nDELIMITER ;\n',
  '\nDELIMITER $$\n', '\n-- Dump completed on 2026-01-01 00:00:00\n', '\n-- Dump completed\n', '\n-- MariaDB dump 10.19\n', '\n-- MySQL dump 8.0\n',
  '\n/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n', '\nALTER DATABASE `shop` CHARACTER SET latin1 ;\n', '`', '``', "'", '\\',
  '\n/*!50003 DROP FUNCTION IF EXISTS `f` */;\n', '\n/*!50106 DROP EVENT IF EXISTS `e` */;\n', `\n${'y'.repeat(5000)}\n`, '\r', '\n', ';;', '*/;',
];

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

const TERMINATOR = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/** A mongodump archive (mongo-tools `common/archive/spec.md`), data blocks interleaved. */
function mongoArchive(namespaces: readonly { db: string; collection: string; documents: Buffer[]; type?: string }[]): Buffer {
  const parts: Buffer[] = [uint32(ARCHIVE_MAGIC)];
  parts.push(Buffer.from(BSON.serialize({ concurrent_collections: new Int32(4), version: '0.1', server_version: '7.0.14', tool_version: '100.12.2' })));
  for (const ns of namespaces) parts.push(Buffer.from(BSON.serialize({ db: ns.db, collection: ns.collection, metadata: '{"indexes":[]}', size: new Int32(0), type: ns.type ?? 'collection' })));
  parts.push(TERMINATOR);
  for (const ns of namespaces) {
    for (let at = 0; at < ns.documents.length; at += 2) {
      parts.push(Buffer.from(BSON.serialize({ db: ns.db, collection: ns.collection, EOF: false, CRC: Long.ZERO })), ...ns.documents.slice(at, at + 2), TERMINATOR);
    }
  }
  for (const ns of namespaces) {
    const crc = new Crc64();
    for (const doc of ns.documents) crc.update(doc);
    parts.push(Buffer.from(BSON.serialize({ db: ns.db, collection: ns.collection, EOF: true, CRC: Long.fromBigInt(BigInt.asIntN(64, crc.digest())) })), TERMINATOR);
  }
  return Buffer.concat(parts);
}

const bson = (value: Record<string, unknown>) => Buffer.from(BSON.serialize(value));

export const MONGO_SEEDS: readonly Buffer[] = [
  mongoArchive([
    { db: 'shop', collection: 'orders', documents: [0, 1, 2, 3, 4].map((i) => bson({ _id: i, items: [{ sku: `s${i}`, qty: new Int32(i) }], at: new Date(0), n: Long.fromNumber(i) })) },
    { db: 'shop', collection: 'empty', documents: [] },
    { db: 'shop', collection: 'recent', documents: [], type: 'view' },
    { db: 'shop', collection: 'users', documents: [0, 1].map((i) => bson({ _id: `u${i}`, nested: { deep: { deeper: [1, 2, { x: i }] } }, bin: new BSON.Binary(Buffer.from('abc')), re: /a+b/i })) },
  ]),
  mongoArchive([]),
];

export const MONGO_TOKENS: readonly Buffer[] = [TERMINATOR, uint32(ARCHIVE_MAGIC), uint32(0), uint32(0x7fffffff), Buffer.from([5, 0, 0, 0, 0]), bson({ db: 'shop', collection: 'orders', EOF: true, CRC: Long.ZERO }), bson({ a: { b: { c: [] } } })];

/** `LC_ALL=C tar --list --block-number` output and tar's stderr lines, as the directory engine reads them. */
export const TAR_LISTING_SEED = [
  'block 0: ./',
  'block 1: ./config/',
  'block 2: ./config/app.yaml',
  'block 4: ./odd\\nname with spaces',
  'block 6: ./latin1-\\351-name',
  'block 8: ./back\\\\slash',
  'block 10: ./links/escape -> ../../outside',
  'block 11: ./data/hardlink.bin link to ./data/original.bin',
  'block 12: ./../escape',
  'block 13: /abs',
  'block 14: ** Block of NULs **',
  "tar: Removing leading `/' from member names",
  "tar: Removing leading `../' from hard link targets",
  "tar: ./a/../b: Member name contains '..'",
  'tar: ./x: Not found in archive',
  "tar: ./b: Cannot hard link to './a': No such file or directory",
  'tar: ./app.log: file changed as we read it',
  'tar: ./app.log: File shrank by 12 bytes; padding with zeros',
  'tar: ./app.sock: socket ignored',
  'tar: A lone zero block at 12',
  'block 15: ** End of File **',
].join('\n');

export const TAR_LISTING_TOKENS: readonly string[] = ['block ', ': ', '\n', '\\', '\\377', '\\0', '\\n', '/', '../', './', '** Block of NULs **', '** End of File **', 'tar: ', "`'", ' from member names', ': Not found in archive', "Cannot hard link to '", '\x00', '\xff'];
