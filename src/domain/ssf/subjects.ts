/**
 * Subjects of a stream (SSF §8.1.3): the subject identifiers (RFC 9493) a receiver adds to or
 * removes from its stream, and whether a user's events go to a stream.
 *
 * A user is named by `iss_sub` (this transmitter's issuer and the user id) and, for a human, by
 * `email`. A stream starts with every subject (default_subjects ALL) or none (NONE), as the
 * transmitter's setting was when the stream was made; each add or remove then records a subject
 * as included or excluded, later calls replacing earlier ones. A user's events go to a stream
 * when no identifier of the user is excluded and either one is included or the stream started
 * with ALL: a receiver that removed a user's email stops getting that user's events, whatever
 * the other identifier says.
 */
import { invalidArgument } from "../errors.js";

export type SubjectId = { format: "iss_sub"; iss: string; sub: string } | { format: "email"; email: string };

export type DefaultSubjects = "ALL" | "NONE";

/** Longest identifier member accepted in a subject (an email address is at most 254 characters). */
const MAX_MEMBER_LENGTH = 1024;

/** The subject of an add or remove request; only the formats that name our users. */
export function parseSubject(value: unknown, field: string): SubjectId {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalidArgument(`invalid ${field}: must be a JSON object`);
  const subject = value as Record<string, unknown>;
  const member = (name: string): string => {
    const text = subject[name];
    if (typeof text !== "string" || text === "") throw invalidArgument(`invalid ${field}.${name}: must be a non-empty string`);
    if (text.length > MAX_MEMBER_LENGTH) throw invalidArgument(`invalid ${field}.${name}: longer than ${MAX_MEMBER_LENGTH} characters`);
    return text;
  };
  switch (subject.format) {
    case "iss_sub":
      return { format: "iss_sub", iss: member("iss"), sub: member("sub") };
    case "email": {
      const email = member("email");
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw invalidArgument(`invalid ${field}.email: not an email address`);
      return { format: "email", email };
    }
    default:
      throw invalidArgument(`invalid ${field}.format: must be "iss_sub" or "email"`);
  }
}

/** How a subject is stored and compared: email addresses without regard to case. */
export function subjectKey(subject: SubjectId): string {
  return subject.format === "iss_sub" ? `iss_sub ${JSON.stringify([subject.iss, subject.sub])}` : `email ${subject.email.toLowerCase()}`;
}

/** The identifiers that name a user at a receiver. */
export function userSubjects(issuer: string, userId: string, email?: string): SubjectId[] {
  const byId: SubjectId = { format: "iss_sub", iss: issuer, sub: userId };
  return email ? [byId, { format: "email", email }] : [byId];
}

/** Whether a user's events go to a stream, from what the stream recorded about the user's identifiers. */
export function includesUser(defaultSubjects: DefaultSubjects, recorded: ReadonlyMap<string, boolean>, user: readonly SubjectId[]): boolean {
  const entries = user.map((subject) => recorded.get(subjectKey(subject)));
  if (entries.includes(false)) return false;
  return defaultSubjects === "ALL" || entries.includes(true);
}
