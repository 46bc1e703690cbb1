import { main } from './cli.js';
import { telemetryStarted } from './telemetry.js';

// The AWS SDK warns on every call under Node 20 (still supported here, and the Lambda
// functions run Node 22): one warning per command is noise in a CLI's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `vaultra --help | head`: a reader that went away is not an error of ours. Without a listener,
// the EPIPE of the next write is an uncaught 'error' event (a stack trace). Later writes to the
// closed stream are dropped; the command itself goes on and exits with its own code (a backup
// still finishes and records its run).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

process.exitCode = await main(process.argv);
// Everything is done and said (stdout and stderr writes are synchronous for files and pipes on
// Linux); only an OTLP exporter retrying a collector that is down may still hold a timer.
if (telemetryStarted()) process.exit();
