#!/usr/bin/env node
/**
 * `generation` (package bin; `npm run cli -- <command>`): submit, poll with a progress bar, results, cancel, jobs and
 * demo against a running Generation Service. See src/cli/generation/program.ts for the commands and exit codes.
 */
import { buildProgram } from './generation/program.js';

await buildProgram().parseAsync(process.argv);
