#!/usr/bin/env node
import { main } from './main.js';

const code = await main(process.argv.slice(2));
// Flush stdout before leaving (pipes are asynchronous); tfjs backends may keep
// handles open, so exit explicitly.
process.stdout.write('', () => process.exit(code));
