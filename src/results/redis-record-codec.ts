import { recordFromJson, recordToJson } from './record-json';
import type { TaskRecord, TaskStatus } from './task-record';

// How the Redis store keeps a record: a status letter (what the Lua scripts read without decoding
// JSON) followed by the record's JSON.

const LETTER: Record<TaskStatus, string> = { PENDING: 'P', RUNNING: 'R', SUCCESS: 'S', FAILED: 'F', CANCELLED: 'C' };

/** A record as stored: its status letter, then its JSON. */
export function encodeRecord(record: TaskRecord): string {
  return LETTER[record.status] + recordToJson(record);
}

/** The record of a stored value. */
export function decodeRecord(value: string): TaskRecord {
  return recordFromJson(value.slice(1));
}
