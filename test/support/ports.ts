// A port for a server a test starts on a port of its own choosing (npm start
// reads PORT). Picked below the kernel's ephemeral range (32768 and up on
// Linux), where every outgoing connection of the parallel test files takes
// its local port: a port picked in that range was sometimes taken before the
// server bound it.
export function portBelowEphemeralRange(): number {
  return 20_000 + Math.floor(Math.random() * 10_000);
}
