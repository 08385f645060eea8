/**
 * The part of GitLab's REST API the shipped pipeline calls, served on 127.0.0.1 as GitLab
 * documents it (doc/api/job_artifacts.md, "Download a single artifact file from specific tag or
 * branch"): `GET /api/v4/projects/:id/jobs/artifacts/:ref_name/raw/*artifact_path?job=NAME`
 * streams one file of job NAME's artifacts from the latest **successful** pipeline of the ref,
 * its parent and child pipelines searched in that order (a parent's job first); anything else is
 * a 404. A job authenticates with its `CI_JOB_TOKEN` in a `JOB-TOKEN` header (the Premium tiers;
 * 401 without it). Finished pipelines come from the replay in tests/replay/gitlab.ts.
 *
 * @module
 */
import { join, normalize } from "node:path";
import { type GitlabJobRecord, JOB_TOKEN, PROJECT_ID } from "./gitlab.ts";

/** A finished pipeline (with its child pipelines) and where its artifacts are stored. */
export interface FinishedPipeline {
  ref: string;
  /** The replay's artifact store: `STORE/PIPELINE/JOB/PATH`. */
  artifacts: string;
  records: readonly GitlabJobRecord[];
}

/** The server: its `CI_API_V4_URL`, what it was asked, and how to feed and stop it. */
export interface GitlabApi {
  url: string;
  /** Every request as `STATUS METHOD PATH?QUERY`. */
  requests: string[];
  /** Records a finished pipeline; only a successful one becomes its ref's latest. */
  finished(pipeline: FinishedPipeline): void;
  /** Forgets every pipeline (a project with nothing on any ref). */
  forget(): void;
  close(): Promise<void>;
}

const RAW_ARTIFACT = new RegExp(
  `^/api/v4/projects/${PROJECT_ID}/jobs/artifacts/([^/]+)/raw/(.+)$`,
);

/** Starts the server on a free port of 127.0.0.1. */
export function serveGitlabApi(): GitlabApi {
  const latest = new Map<string, FinishedPipeline>();
  const requests: string[] = [];
  const answer = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const match = RAW_ARTIFACT.exec(url.pathname);
    const job = url.searchParams.get("job");
    if (request.method !== "GET" || !match || !job) return notFound();
    if (request.headers.get("JOB-TOKEN") !== JOB_TOKEN) {
      return Response.json({ message: "401 Unauthorized" }, { status: 401 });
    }
    const pipeline = latest.get(decodeURIComponent(match[1]));
    const path = normalize(decodeURIComponent(match[2]));
    if (!pipeline || path.startsWith("..")) return notFound();
    // Parent first, then its children: the first successful job of that name.
    const found = [...pipeline.records]
      .sort((a, b) => a.pipeline.split("/").length - b.pipeline.split("/").length)
      .find((r) => r.job === job && r.result === "success");
    if (!found) return notFound();
    const file = join(pipeline.artifacts, found.pipeline, found.job, path);
    const info = await Deno.lstat(file).catch(() => null);
    if (!info?.isFile) return notFound();
    return new Response(await Deno.readFile(file), {
      headers: { "content-type": "text/plain" },
    });
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const response = await answer(request);
      const url = new URL(request.url);
      requests.push(`${response.status} ${request.method} ${url.pathname}${url.search}`);
      return response;
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/api/v4`,
    requests,
    finished(pipeline) {
      if (pipeline.records.every((r) => r.result !== "failed")) latest.set(pipeline.ref, pipeline);
    },
    forget: () => latest.clear(),
    close: () => server.shutdown(),
  };
}

function notFound(): Response {
  return Response.json({ message: "404 Not found" }, { status: 404 });
}
