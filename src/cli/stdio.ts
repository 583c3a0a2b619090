// Standard output and error whose reader went away. egts processes write logs and access logs to
// pipes their supervisor reads (egts serve, a container runtime); when the supervisor exits first
// (a second SIGTERM, a crash), the next write fails with EPIPE, and an unhandled stream error
// would kill a proxy in the middle of draining the requests it still holds. Losing the output is
// the lesser harm: the error is dropped, and the stream (now destroyed) takes no more writes.
export function keepRunningWithoutOutput(): void {
  for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
}
