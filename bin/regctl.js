#!/usr/bin/env node
// libuv's 4 threads run every file operation; fsyncs of concurrent pushes and garbage collection's
// thousands of small reads wait behind each other with fewer. Set before the first file operation.
process.env.UV_THREADPOOL_SIZE ??= '16';
await import('../dist/cli/main.js');
