/**
 * The Shared Signals streams, read as a receiver's tools read them: GET /ssf/streams (SSF
 * §8.1.1.2) with the token in the Authorization header, answered with every stream for a token
 * holding ssf.read (an IAM_OWNER's does). Its errors, JSON of SSF's own shape, become
 * ConnectErrors, so that the page shows them as it shows every other server error.
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** What the console shows of a stream. */
export interface StreamSummary {
  id: string;
  /** The receiver: the user that created it. */
  aud: string;
  /** urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll). */
  method: string;
  /** Where a push stream sends; for a poll stream, where its receiver polls. */
  endpoint: string;
  description: string;
}

const CODES: Record<number, Code> = { 401: Code.Unauthenticated, 403: Code.PermissionDenied, 429: Code.ResourceExhausted };

export async function readStreams(token: string, onUnauthenticated?: () => void): Promise<StreamSummary[]> {
  const res = await fetch("/ssf/streams", { headers: { authorization: `Bearer ${token}` } });
  const body: unknown = await res.json();
  if (!res.ok) {
    if (res.status === 401) onUnauthenticated?.();
    const { description } = body as { description?: string };
    throw new ConnectError(description ?? `the stream management API answered ${res.status}`, CODES[res.status] ?? Code.Unknown);
  }
  return (body as Record<string, unknown>[]).map((stream) => {
    const delivery = stream.delivery as { method: string; endpoint_url: string };
    return { id: String(stream.stream_id), aud: String(stream.aud), method: delivery.method, endpoint: delivery.endpoint_url, description: String(stream.description ?? "") };
  });
}
