/** The machine a run happened on: results mean little without it. */
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

/** Machine facts for the report. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memory: string;
  readonly kernel: string;
  readonly node: string;
  readonly h2load: string;
  readonly date: string;
  /** 1-minute load average when the bench started: anything else busy on the machine skews results. */
  readonly loadAtStart: number;
}

/** The 1-minute load average now. */
export function loadAverage(): number {
  return loadavg()[0] ?? Number.NaN;
}

/** Reads the machine facts; `h2load` is its `--version` line. */
export function machineInfo(h2load: string): MachineInfo {
  const cpuList = cpus();
  return {
    cores: availableParallelism(),
    cpuModel: cpuList[0]?.model.trim() || 'unknown',
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `Linux ${release()}`,
    node: process.version,
    h2load,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadAtStart: loadAverage(),
  };
}
