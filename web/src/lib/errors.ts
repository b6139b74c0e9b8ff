/** The API's one error shape: `{ "error": { "code", "message", "details" } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, body: unknown) {
    const parsed = isErrorBody(body) ? body.error : undefined;
    super(parsed?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = parsed?.code ?? 'http_error';
    this.details = parsed?.details ?? {};
  }

  /** `details.fields` of a 422: field → error codes. */
  get fields(): FieldErrors {
    const f = this.details.fields;
    return f && typeof f === 'object' ? (f as FieldErrors) : {};
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  return (
    typeof v === 'object' &&
    v !== null &&
    'error' in v &&
    typeof (v as ErrorBody).error === 'object' &&
    (v as ErrorBody).error !== null
  );
}

/** Turns an openapi-fetch result into its data or a thrown [`ApiError`]. */
export async function unwrap<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await p;
  if (!response.ok) throw new ApiError(response.status, error);
  return data as T;
}
