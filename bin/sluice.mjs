#!/usr/bin/env node
// The `sluice` command. An installed package runs the JavaScript its build put in dist/; a
// checkout (its TypeScript sources beside this folder) runs them as they are through tsx. Either
// way tsx's loader is registered first: applications may be TypeScript modules.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
// Sluice supports Node.js 20; the AWS SDK's notice that its future releases will not is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const source = new URL('../cli/main.ts', import.meta.url);
const { main } = await import(existsSync(source) ? source.href : '../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
