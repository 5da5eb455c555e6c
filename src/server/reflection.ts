import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'nice-grpc';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';

/**
 * File name of the descriptor set `npm run generate` writes into descriptors/ (committed). Not in
 * generated/: `buf generate` cleans that directory and would delete it.
 */
const DESCRIPTOR_SET = 'task_scheduler.binpb';

/**
 * The FileDescriptorSet of proto/ with its imports (`buf build --exclude-source-info`): our service,
 * the wrapper/struct/any types arguments are packed from, and grpc.health.v1.
 */
export function loadDescriptorSet(): Uint8Array {
  // From src/server (ts-jest) or dist/src/server (compiled): descriptors/ sits at the package root.
  for (const up of ['../..', '../../..']) {
    const candidate = path.resolve(__dirname, up, 'descriptors', DESCRIPTOR_SET);
    if (existsSync(candidate)) return readFileSync(candidate);
  }
  throw new Error(`descriptors/${DESCRIPTOR_SET} not found: run \`npm run generate\``);
}

/**
 * Serves gRPC server reflection for `serviceNames`, as `grpc.reflection.v1` (what `buf curl` and
 * grpcurl ask for first) and `grpc.reflection.v1alpha` (older tools). The two protocols have the same
 * messages; only the service name differs, so one implementation serves both.
 */
export function addReflection(server: Server, serviceNames: readonly string[], descriptorSet = loadDescriptorSet()): void {
  const implementation = ServerReflection(descriptorSet, serviceNames);
  server.add(ServerReflectionService, implementation);
  const v1 = ServerReflectionService.serverReflectionInfo;
  const v1alpha = { serverReflectionInfo: { ...v1, path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo' } };
  server.add(v1alpha as unknown as typeof ServerReflectionService, implementation);
}
