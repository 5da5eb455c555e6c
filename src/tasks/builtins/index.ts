import type { TaskRegistry } from '../task-registry';
import { registerAddedTasks } from './added-tasks';
import { registerOriginalTasks } from './original-tasks';

/** Registers every built-in task (SPEC §5a and §5b) into `registry`. */
export function registerBuiltinTasks(registry: TaskRegistry): void {
  registerOriginalTasks(registry);
  registerAddedTasks(registry);
}
