import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { catalogContract } from './catalog.contract.js';

catalogContract('LocalCatalog', async () => new LocalCatalog(await mkdtemp(join(tmpdir(), 'vaultra-catalog-'))));
