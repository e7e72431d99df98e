#!/usr/bin/env node
// The `clusterip` command. A file that exists before the build, so that package managers link the bin
// at install time (dist/ appears only after `tsc -b`); it runs the compiled CLI entry.
import '../dist/cli/main.js';
