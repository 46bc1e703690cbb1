import { Command } from 'commander';
import { DockerEngineClient } from '../../core/adapters/docker/docker-engine-client.js';
import { listVolumes } from '../../core/usecases/list-volumes.js';
import { formatBytes } from '../format.js';
import { printJson, signalOf } from './shared.js';

interface VolumesOptions {
  size?: boolean;
  json?: boolean;
}

export function volumesCommand(): Command {
  return new Command('volumes')
    .description('list the Docker volumes this machine\'s Docker engine has, and the containers using each (what backup --stop-containers stops)')
    .option('--size', 'also measure each volume (the Docker engine walks every volume: slow on big hosts)')
    .option('--json', 'print a JSON array of volumes on stdout')
    .addHelpText(
      'after',
      `
The Docker engine is reached at $DOCKER_HOST (unix://… only) or /var/run/docker.sock.

Examples:
  vaultra volumes
  vaultra volumes --size --json
  vaultra backup volume:pgdata --stop-containers`,
    )
    .action(async (options: VolumesOptions, command: Command) => {
      const volumes = await listVolumes(new DockerEngineClient(), { withSizes: options.size, signal: signalOf(command) });
      if (options.json) return printJson(volumes);
      if (volumes.length === 0) {
        process.stdout.write('no Docker volumes\n');
        return;
      }
      const rows = volumes.map((v) => [
        v.name,
        v.driver,
        ...(options.size ? [v.sizeBytes === undefined ? '' : formatBytes(v.sizeBytes)] : []),
        v.containers.length === 0 ? '-' : v.containers.map((c) => `${c.name} (${c.state})`).join(', '),
        v.mountpoint,
      ]);
      const header = ['NAME', 'DRIVER', ...(options.size ? ['SIZE'] : []), 'CONTAINERS', 'MOUNTPOINT'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
      process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
    });
}
