import type { CallContext } from 'nice-grpc';
import {
  MissedFirePolicy,
  type CreateScheduleRequest,
  type DeleteScheduleRequest,
  type DeleteScheduleResponse,
  type ListSchedulesResponse,
  type PauseMethodRequest,
  type PauseMethodResponse,
  type QueueStatsResponse,
  type Schedule,
  type TaskSchedulerAdminServiceImplementation,
} from '../../generated/taskscheduler/task_scheduler_admin';
import { TaskRequest } from '../../generated/taskscheduler/task_scheduler';
import Long from 'long';
import { checkScheduling, DEFAULT_MAX_SCHEDULE_AHEAD_MS } from '../engine/queue/start-time';
import type { Scheduler } from '../engine/scheduler';
import { InvalidArgumentsError } from '../errors';
import { fireTaskId, type ScheduleInfo, type ScheduleRunner } from '../scheduling/schedule-runner';
import type { StoredSchedule } from '../scheduling/schedule-store';
import type { TaskSubmitter } from './task-scheduler-service';

/** Keys listed by GetQueueStats (the busiest first). */
const MAX_KEYS_LISTED = 100;

export interface AdminServiceDeps {
  readonly scheduler: Scheduler;
  readonly schedules: ScheduleRunner;
  readonly submitter: TaskSubmitter;
}

/** The request a fire submits: the template with the fire's id, detached. */
export function fireRequest(schedule: StoredSchedule, at: number): TaskRequest {
  const template = TaskRequest.decode(Buffer.from(schedule.template, 'base64'));
  return { ...template, taskId: fireTaskId(schedule.name, at), detached: true };
}

/** Submits one fire of a schedule, as SubmitTask would (an existing id answers with its task). */
export function createScheduleFire(submitter: TaskSubmitter): (schedule: StoredSchedule, at: number) => Promise<void> {
  return async (schedule, at) => {
    await submitter.submit(fireRequest(schedule, at));
  };
}

function scheduleOf(info: ScheduleInfo): Schedule {
  return {
    name: info.name,
    cron: info.cron,
    timeZone: info.timeZone,
    task: TaskRequest.decode(Buffer.from(info.template, 'base64')),
    missedFirePolicy: info.missedFire === 'run_once' ? MissedFirePolicy.MISSED_FIRE_RUN_ONCE : MissedFirePolicy.MISSED_FIRE_SKIP,
    nextFireAtMs: Long.fromNumber(info.nextFireAt, true),
    lastFireAtMs: Long.fromNumber(info.lastFireAt, true),
  };
}

/** TaskSchedulerAdmin's implementation; its methods need no call context, so the console calls them too. */
export type AdminService = {
  [K in keyof TaskSchedulerAdminServiceImplementation<CallContext>]: (request: Parameters<TaskSchedulerAdminServiceImplementation<CallContext>[K]>[0]) => ReturnType<TaskSchedulerAdminServiceImplementation<CallContext>[K]>;
};

/** TaskSchedulerAdmin: recurring schedules, pausing methods, queue statistics. */
export function createAdminService(deps: AdminServiceDeps): AdminService {
  const { scheduler, schedules, submitter } = deps;
  return {
    async createSchedule(request: CreateScheduleRequest): Promise<Schedule> {
      const schedule = request.schedule;
      if (!schedule) throw new InvalidArgumentsError('schedule is required');
      const task = schedule.task;
      if (!task) throw new InvalidArgumentsError('schedule.task is required: the task each fire submits (method, args…)');
      if (schedule.missedFirePolicy !== MissedFirePolicy.MISSED_FIRE_SKIP && schedule.missedFirePolicy !== MissedFirePolicy.MISSED_FIRE_RUN_ONCE) {
        throw new InvalidArgumentsError(`missed_fire_policy ${String(schedule.missedFirePolicy)} is not one of MISSED_FIRE_SKIP, MISSED_FIRE_RUN_ONCE`);
      }
      const template: TaskRequest = { ...task, taskId: '', detached: true };
      // The template must be a task SubmitTask would accept (as one fire's request).
      const checked = submitter.check({ ...template, taskId: fireTaskId(schedule.name, Date.now()) });
      checkScheduling({ ...checked, startAtMs: 0 }, Date.now(), DEFAULT_MAX_SCHEDULE_AHEAD_MS);
      const info = await schedules.create({
        name: schedule.name,
        cron: schedule.cron,
        timeZone: schedule.timeZone,
        template: Buffer.from(TaskRequest.encode(template).finish()).toString('base64'),
        missedFire: schedule.missedFirePolicy === MissedFirePolicy.MISSED_FIRE_RUN_ONCE ? 'run_once' : 'skip',
        lastFireAt: 0,
      });
      return scheduleOf(info);
    },

    async listSchedules(): Promise<ListSchedulesResponse> {
      return { schedules: schedules.list().map(scheduleOf) };
    },

    async deleteSchedule(request: DeleteScheduleRequest): Promise<DeleteScheduleResponse> {
      return { deleted: await schedules.delete(request.name) };
    },

    async pauseMethod(request: PauseMethodRequest): Promise<PauseMethodResponse> {
      return { pausedMethods: [...scheduler.pauseMethod(request.method)] };
    },

    async resumeMethod(request: PauseMethodRequest): Promise<PauseMethodResponse> {
      return { pausedMethods: [...scheduler.resumeMethod(request.method)] };
    },

    async getQueueStats(): Promise<QueueStatsResponse> {
      const stats = scheduler.queueStats();
      const methods = new Set([...stats.waitingByMethod.keys(), ...stats.runningByMethod.keys(), ...stats.paused]);
      return {
        methods: [...methods].sort().map((method) => ({
          method,
          waiting: stats.waitingByMethod.get(method) ?? 0,
          running: stats.runningByMethod.get(method) ?? 0,
          paused: stats.paused.includes(method),
        })),
        keys: [...stats.keys]
          .sort(([, a], [, b]) => b.waiting + b.running - (a.waiting + a.running))
          .slice(0, MAX_KEYS_LISTED)
          .map(([concurrencyKey, counts]) => ({ concurrencyKey, waiting: counts.waiting, running: counts.running })),
        delayed: stats.delayed,
      };
    },
  };
}
