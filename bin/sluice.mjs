#!/usr/bin/env node
// The `sluice` command. Applications are TypeScript modules, so tsx's loader is registered
// before anything else is imported.
import { register } from 'tsx/esm/api';

register();
// Sluice supports Node.js 20; the AWS SDK's notice that its future releases will not is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
