/**
 * What the kernel says about a process (Linux /proc): resident memory and CPU time. Read from outside,
 * so the measured server needs no instrumentation and runs exactly as in production.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), the unit of utime/stime in /proc/<pid>/stat. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100; // The value on every mainstream Linux build.
    }
  }
  return clockTicks;
}

/** Resident set size (VmRSS) of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** CPU time (user + system, all threads) used so far by `pid`, in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces; fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, i.e. 11 and 12 after the name and state.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/**
 * Samples the CPU time of a short-lived process until it exits and keeps the last value: a process's
 * /proc entry is gone once it has been reaped, so the total cannot be read afterwards.
 */
export function trackCpu(pid: number, everyMs = 100): { stop(): number } {
  let last = cpuSeconds(pid) ?? 0;
  const timer = setInterval(() => {
    const now = cpuSeconds(pid);
    if (now !== undefined) last = now;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return last;
    },
  };
}

/** Machine-wide CPU time since boot, in seconds (all cores), from the first line of /proc/stat. */
export interface MachineCpu {
  /** user + nice + system: what processes ran. */
  readonly processes: number;
  /** irq + softirq: interrupt work (loopback networking lands here partly). */
  readonly interrupts: number;
  /** Time the hypervisor gave to other guests while this one wanted to run. */
  readonly steal: number;
}

/** Reads {@link MachineCpu}. */
export function machineCpu(): MachineCpu {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  const hz = ticksPerSecond();
  return { processes: (user + nice + system) / hz, interrupts: (irq + softirq) / hz, steal: steal / hz };
}

/**
 * CPU time of this process plus its children that have exited and been reaped (utime, stime, cutime,
 * cstime of /proc/self/stat), in seconds. Once a scenario has stopped its servers, this covers all of
 * the bench's own work, so the rest of the machine's CPU time was someone else's.
 */
export function ownCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticksPerSecond();
}
