#!/usr/bin/env node
import { execute } from '@oclif/core';
import { hoistScopeFlags } from '../dist/lib/argv.js';

await execute({ args: hoistScopeFlags(process.argv.slice(2)), dir: import.meta.url });
