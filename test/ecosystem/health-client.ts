/** A grpc.health.v1 client built from nice-grpc-server-health's own definition. */
import { createChannel, createClient, type Client } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
// The package's index exports the service definition but not the status enum.
import { HealthCheckResponse_ServingStatus } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health';

export { HealthCheckResponse_ServingStatus as ServingStatus };

/** A plaintext Health client on its own channel (no token: health is open). */
export function connectHealth(address: string): { health: Client<typeof HealthDefinition>; close(): void } {
  const channel = createChannel(address);
  return { health: createClient(HealthDefinition, channel), close: () => channel.close() };
}
