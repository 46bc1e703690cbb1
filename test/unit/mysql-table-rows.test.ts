/** Row tuples to INSERT statements: the client's escapes undone, content-defined statement boundaries, the SELECT that renders rows. */
import { describe, expect, it } from 'vitest';
import { unescapeBatchField } from '../../core/adapters/engines/mysql/mysql-session.js';
import { insertStatements, rowTuplesSql, TABLE_STREAM_HEADER, type TableLayout } from '../../core/adapters/engines/mysql/mysql-table-rows.js';
import { DumpFailedError } from '../../core/errors.js';

const table: TableLayout = { name: 'we`ird', columns: [{ name: 'id', dataType: 'int' }, { name: 'b', dataType: 'blob' }, { name: 'f', dataType: 'bit' }, { name: 't', dataType: 'varchar' }], orderBy: ['id'], order: 'primary key' };

async function render(lines: string[], options = {}): Promise<string> {
  async function* batches() {
    yield lines.map((line) => Buffer.from(line, 'utf8'));
  }
  const parts: Buffer[] = [];
  for await (const part of insertStatements(table, batches(), options)) parts.push(part);
  return Buffer.concat(parts).toString('utf8');
}

describe('unescapeBatchField', () => {
  it('turns \\0 \\t \\n \\\\ back into their bytes and leaves every other byte alone', () => {
    expect(unescapeBatchField(Buffer.from('a\\tb\\nc\\\\d\\0e\\x')).toString('latin1')).toBe('a\tb\nc\\d\0ex');
    expect(unescapeBatchField(Buffer.from('trailing\\'))).toEqual(Buffer.from('trailing\\'));
    const plain = Buffer.from('(1,\'x\')');
    expect(unescapeBatchField(plain)).toBe(plain);
  });
});

describe('rowTuplesSql', () => {
  it('renders each column as an SQL literal, in key order, with quoted names', () => {
    const sql = rowTuplesSql(table);
    expect(sql).toContain("IF(`b` IS NULL, 'NULL', CONCAT('X''', HEX(`b`), ''''))");
    expect(sql).toContain("CONCAT('b''', BIN(`f` + 0), '''')");
    expect(sql).toContain('CONVERT(QUOTE(`t`) USING utf8mb4)');
    expect(sql).toMatch(/FROM `we``ird` ORDER BY `id`;$/);
  });
});

describe('insertStatements', () => {
  it('gives the header alone for a table without rows', async () => {
    expect(await render([])).toBe(TABLE_STREAM_HEADER);
  });

  it('groups rows into INSERT statements and closes the last one', async () => {
    const out = await render(["(1,X'00',b'1','a\\tb')", "(2,NULL,NULL,'c')"], { boundaryMask: 0xffffffff });
    expect(out).toBe(`${TABLE_STREAM_HEADER}INSERT INTO \`we\`\`ird\` (\`id\`,\`b\`,\`f\`,\`t\`) VALUES\n(1,X'00',b'1','a\tb'),\n(2,NULL,NULL,'c');\n`);
  });

  it('ends statements where row contents say, so a new row leaves the other statements as they were', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `(${i * 2},NULL,NULL,'row ${i}')`);
    const before = await render(rows);
    const after = await render([...rows.slice(0, 2500), "(4999,NULL,NULL,'new')", ...rows.slice(2500)]);
    const statements = (text: string) => new Set(text.split(';\n'));
    const [was, is] = [statements(before), statements(after)];
    const changed = [...is].filter((statement) => !was.has(statement));
    expect(was.size).toBeGreaterThan(5);
    expect(changed.length).toBeLessThanOrEqual(2);
  });

  it('fails on a row the server could not render (NULL: longer than max_allowed_packet)', async () => {
    await expect(render(['NULL'])).rejects.toThrow(DumpFailedError);
    await expect(render(['NULL'])).rejects.toThrow(/max_allowed_packet/);
  });
});
