// A tiny typed client for troth over fetch. Every type comes from
// troth.d.ts, which openapi-typescript generates from openapi.yaml
// (`npm run generate`): when the API changes, tsc points at what to fix.
import type { components, operations } from "./troth.js";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

// The JSON body an operation answers with a given status.
type JSONOf<Op extends keyof operations, S extends keyof operations[Op]["responses"]> =
  operations[Op]["responses"][S] extends { content: { "application/json": infer T } } ? T : never;

// The JSON body an operation takes.
type BodyOf<Op extends keyof operations> =
  operations[Op] extends { requestBody: { content: { "application/json": infer T } } } ? T : never;

/** TrothError is an error answer: the RFC 9457 problem troth sent. */
export class TrothError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    const fields = problem.errors?.map((e) => `${e.field}: ${e.code}`).join(", ");
    super(`troth: ${problem.status} ${problem.code}${fields ? ` (${fields})` : ""}`);
    this.name = "TrothError";
    this.problem = problem;
  }

  /** The stable code: "not_found", "validation_failed", … */
  get code(): string {
    return this.problem.code;
  }
}

/** Troth calls the API as one user, with the access token it is given. */
export class Troth {
  constructor(
    readonly baseUrl: string,
    public accessToken?: string,
  ) {}

  register(body: BodyOf<"register">): Promise<JSONOf<"register", 201>> {
    return this.call("POST", "/v1/auth/register", body);
  }

  createRelationship(body: BodyOf<"createRelationship">): Promise<JSONOf<"createRelationship", 201>> {
    return this.call("POST", "/v1/relationships", body);
  }

  createInvite(relationshipId: string): Promise<JSONOf<"createInvite", 201>> {
    return this.call("POST", `/v1/relationships/${encodeURIComponent(relationshipId)}/invites`);
  }

  acceptInvite(code: string): Promise<JSONOf<"acceptInvite", 200>> {
    return this.call("POST", `/v1/invites/${encodeURIComponent(code)}/accept`);
  }

  createPromise(relationshipId: string, body: BodyOf<"createPromise">): Promise<JSONOf<"createPromise", 201>> {
    return this.call("POST", `/v1/relationships/${encodeURIComponent(relationshipId)}/promises`, body);
  }

  /** Every promise of a relationship, following next_cursor to the last page. */
  async listPromises(
    relationshipId: string,
    query: Omit<NonNullable<operations["listPromises"]["parameters"]["query"]>, "cursor"> = {},
  ): Promise<Schemas["Promise"][]> {
    const all: Schemas["Promise"][] = [];
    let cursor: string | null | undefined;
    do {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...query, cursor })) {
        if (v !== undefined && v !== null) params.set(k, String(v));
      }
      const page: JSONOf<"listPromises", 200> = await this.call(
        "GET",
        `/v1/relationships/${encodeURIComponent(relationshipId)}/promises?${params}`,
      );
      all.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.accessToken) headers["Authorization"] = `Bearer ${this.accessToken}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(new URL(path, this.baseUrl), init);
    if (res.ok) return (await res.json()) as T;
    if (res.headers.get("Content-Type")?.startsWith("application/problem+json")) {
      throw new TrothError((await res.json()) as Problem);
    }
    // Not from troth itself (a proxy, say): make a problem of it.
    throw new TrothError({ type: "about:blank", status: res.status, code: `http_${res.status}`, title: res.statusText });
  }
}
