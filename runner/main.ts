import { main } from './cli.js';

// The AWS SDK warns on every call under Node 20 (still supported here, and the Lambda
// functions run Node 22): one warning per command is noise in a CLI's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await main(process.argv);
