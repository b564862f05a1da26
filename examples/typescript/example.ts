// A typed Concerto client, generated from openapi.yaml: copy this file and `generated/` into a
// front end. `make client-check` regenerates the types and compiles this file with
// `tsc --strict`, so a change of the contract that breaks a client breaks the build.
//
// Types: `openapi-typescript ../../openapi.yaml --output generated/concerto.d.ts`.
// Calls: openapi-fetch, which types every path, parameter, body and answer from them.

import createClient from "openapi-fetch";
import type { components, operations, paths } from "./generated/concerto";

type Problem = components["schemas"]["Problem"];
type Dossier = components["schemas"]["DossierView"];
type AgendaItem = components["schemas"]["AgendaItem"];

/** What a caller does with a refusal: branch on the stable `code`, never on the text. */
export class ConcertoError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(`${status} ${problem.code}: ${problem.detail}`);
  }
}

function fail(status: number, problem: Problem | undefined): never {
  throw new ConcertoError(status, problem ?? { type: "about:blank", title: "Error", status, detail: "no problem document", code: "unknown" });
}

/** Logs in and answers a client whose every call carries the token. */
export async function connect(baseUrl: string, username: string, password: string) {
  const anonymous = createClient<paths>({ baseUrl });
  const login = await anonymous.POST("/api/v1/auth/login", { body: { username, password } });
  if (login.error) {
    // 401 `invalid_credentials`, or 429 `too_many_attempts` with a Retry-After header.
    const retryAfter = login.response.headers.get("Retry-After");
    if (login.response.status === 429 && retryAfter) {
      throw new Error(`too many attempts: retry in ${retryAfter} s`);
    }
    fail(login.response.status, login.error);
  }
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${login.data.access_token}` } });
}

type Client = Awaited<ReturnType<typeof connect>>;

/** The caller, the modules to show and, for a secretary, the physicians she acts for. */
export async function whoAmI(client: Client) {
  const { data, error, response } = await client.GET("/api/v1/me");
  if (error) fail(response.status, error);
  const actingFor = data.acting_for.map((a) => a.display_name).join(", ");
  return `${data.professional.display_name}: ${data.modules.join(", ")}${actingFor ? ` (for ${actingFor})` : ""}`;
}

/** Every session of the agenda in a window, following `next_cursor` to the last page. */
export async function agenda(client: Client, from: string, to: string): Promise<AgendaItem[]> {
  const sessions: AgendaItem[] = [];
  let cursor: string | undefined;
  do {
    const query: operations["getAgenda"]["parameters"]["query"] = cursor ? { from, to, limit: 50, cursor } : { from, to, limit: 50 };
    const { data, error, response } = await client.GET("/api/v1/agenda", { params: { query } });
    if (error) fail(response.status, error);
    sessions.push(...data.items);
    cursor = data.next_cursor ?? undefined;
  } while (cursor);
  return sessions;
}

/** A dossier and its ETag, which a change must send back as If-Match. */
export async function dossier(client: Client, id: string): Promise<{ dossier: Dossier; etag: string }> {
  const { data, error, response } = await client.GET("/api/v1/dossiers/{id}", { params: { path: { id } } });
  if (error) fail(response.status, error); // 404 `not_found` also for a dossier the caller may not see
  return { dossier: data, etag: response.headers.get("ETag") ?? `"${data.version}"` };
}

/** Registers a patient in a planned session; says why when the board will not take it. */
export async function register(client: Client, sessionId: string, patientId: string, requesterId: string): Promise<Dossier | string> {
  const { data, error, response } = await client.POST("/api/v1/sessions/{id}/dossiers", {
    params: { path: { id: sessionId } },
    body: { patient_id: patientId, requester_id: requesterId, question: "Chirurgie d'emblée ?" },
  });
  if (error) {
    switch (error.code) {
      case "session_not_open":
        return "the session has started or is closed: choose a later one";
      case "already_registered":
        return "this patient is already on this session";
      case "medical_act_forbidden":
        return "a secretary registers without medical content";
      case "validation_failed":
        return (error.errors ?? []).map((e) => `${e.field}: ${e.message}`).join("; ");
      default:
        fail(response.status, error);
    }
  }
  // The new dossier's URI, as the Location header names it.
  console.log(`registered at ${response.headers.get("Location") ?? "?"}`);
  return data;
}

/** Changes the question with the ETag read; a 412 means someone changed it meanwhile. */
export async function ask(client: Client, id: string, question: string): Promise<Dossier | "changed meanwhile"> {
  const { etag } = await dossier(client, id);
  const { data, error, response } = await client.PATCH("/api/v1/dossiers/{id}", {
    params: { path: { id }, header: { "If-Match": etag } },
    body: { question },
  });
  if (error) {
    if (error.code === "precondition_failed") return "changed meanwhile";
    fail(response.status, error);
  }
  return data;
}

/** A possible duplicate: the candidates let the user pick the patient instead of adding one. */
export async function addPatient(client: Client, familyName: string, givenName: string, birthDate: string) {
  const { data, error, response } = await client.POST("/api/v1/patients", {
    body: { family_name: familyName, given_name: givenName, birth_date: birthDate, sex: "female" },
  });
  if (error) {
    if (error.code === "possible_duplicate") {
      return { duplicates: (error.candidates ?? []).map((c) => `${c.family_name} ${c.given_name}, ${c.birth_date} (${c.id})`) };
    }
    fail(response.status, error);
  }
  return { patient: data };
}

/** The walk a front end makes on opening: who am I, today's sessions, their dossiers. */
export async function main(baseUrl: string): Promise<void> {
  const client = await connect(baseUrl, "dr.martin", "concerto-demo-2026");
  console.log(await whoAmI(client));
  const today = new Date().toISOString().slice(0, 10);
  for (const session of await agenda(client, today, "2099-12-31")) {
    console.log(`${session.starts_at} ${session.rcp_name}: ${session.dossiers.length} dossier(s)`);
    const first = session.dossiers[0];
    if (first) {
      const { dossier: d, etag } = await dossier(client, first.id);
      console.log(`  ${d.id} ${d.status} (ETag ${etag})`);
    }
  }
}
