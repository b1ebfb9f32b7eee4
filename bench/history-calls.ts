/**
 * The two history reads the load generators send (zus.user.v1.UserRecordService/ListUserEvents,
 * REST GET /zus/v1/users/{user_id}/events): the first page at the default size, which holds all
 * of a seeded user's ten events, and a second page, read with the token of a first page of
 * NEXT_PAGE_SIZE. Every seeded user has the same ten sequences, so one first page's token is the
 * next token of every user's; it is asked of the server once, not made up.
 */
export type HistoryOp = "history" | "historyNext";

export const FIRST_PAGE_SIZE = 50;
export const NEXT_PAGE_SIZE = 5;

export const LIST_USER_EVENTS = "/zus.user.v1.UserRecordService/ListUserEvents";

/** The request fields of `op`: page size and token (empty for a first page). */
export interface HistoryPageRequest {
  pageSize: number;
  pageToken: string;
}

/**
 * The fields of `op`'s requests; for a second page the token is the next_page_token of a first
 * page of NEXT_PAGE_SIZE of `userId`, read over Connect JSON.
 */
export async function historyRequest(op: HistoryOp, url: string, token: string, userId: string): Promise<HistoryPageRequest> {
  if (op === "history") return { pageSize: FIRST_PAGE_SIZE, pageToken: "" };
  const res = await fetch(new URL(LIST_USER_EVENTS, url), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ userId, pageSize: NEXT_PAGE_SIZE }),
  });
  const body = (await res.json()) as { nextPageToken?: string };
  if (!res.ok || !body.nextPageToken) throw new Error(`ListUserEvents gave no next page (${res.status}): ${JSON.stringify(body)}`);
  return { pageSize: NEXT_PAGE_SIZE, pageToken: body.nextPageToken };
}
