import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Badge } from '@/components/ui/badge';
import { Alert } from '@/components/ui/alert';
import { FormField } from '@/components/form-field';
import { ErrorMessage } from '@/components/page';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import type { ConfigureBody, Provider } from '../api';

/** The subset of JSON Schema the providers' settings use. */
interface PropSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
}
interface ObjectSchema {
  properties?: Record<string, PropSchema>;
  required?: string[];
}

function types(p: PropSchema): string[] {
  return Array.isArray(p.type) ? p.type : p.type ? [p.type] : ['string'];
}

function initial(schema: ObjectSchema, config: Record<string, unknown> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, p] of Object.entries(schema.properties ?? {})) {
    const v = config?.[k] ?? p.default;
    out[k] = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

function convert(p: PropSchema, raw: string): unknown {
  const ts = types(p);
  const nullable = ts.includes('null');
  if (raw.trim() === '') return nullable ? null : undefined;
  if (ts.includes('boolean')) return raw === 'true';
  if (ts.includes('integer')) return Number.parseInt(raw, 10);
  if (ts.includes('number')) return Number(raw);
  if (ts.includes('array') || ts.includes('object')) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

/**
 * A provider's settings form drawn from its JSON Schema. Credentials are write-only:
 * the form shows whether each is set and offers a field to replace it; what is left
 * empty keeps its stored value.
 */
export function SchemaForm({
  provider,
  onSubmit,
  saving,
  error,
}: {
  provider: Provider;
  onSubmit: (body: ConfigureBody) => void;
  saving: boolean;
  error: unknown;
}) {
  const { t } = useTranslation();
  const schema = provider.schema as ObjectSchema;
  const [values, setValues] = React.useState(() => initial(schema, provider.configuration as Record<string, unknown> | null));
  const [secrets, setSecrets] = React.useState<Record<string, string>>({});
  const fields = error instanceof ApiError ? error.fields : {};
  const msg = (k: string) => fields[k]?.map((c) => fieldMessage(t, c)).join(' ');
  const id = (k: string) => `${provider.kind}-${provider.name}-${k}`.replace(/[^a-zA-Z0-9_-]/g, '-');
  const label = (k: string, p: PropSchema) =>
    t(`integrations.fields.${k}`, { defaultValue: p.title ?? k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) });

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const configuration: Record<string, unknown> = {};
    for (const [k, p] of Object.entries(schema.properties ?? {})) {
      const v = convert(p, values[k] ?? '');
      if (v !== undefined) configuration[k] = v;
    }
    const credentials: Record<string, string> = {};
    for (const [k, v] of Object.entries(secrets)) if (v !== '') credentials[k] = v;
    onSubmit({ configuration, credentials: Object.keys(credentials).length ? credentials : undefined } as ConfigureBody);
  };

  const general = Object.entries(fields).filter(([k]) => !k.startsWith('configuration.') && !k.startsWith('credentials.'));

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3" aria-label={t('integrations.settingsOf', { name: provider.label })}>
      {error && !(error instanceof ApiError && Object.keys(fields).length) ? <ErrorMessage error={error} /> : null}
      {general.map(([k, codes]) => (
        <Alert key={k}>{k}: {codes.map((c) => fieldMessage(t, c)).join(' ')}</Alert>
      ))}
      <div className="grid gap-3 sm:grid-cols-2">
        {Object.entries(schema.properties ?? {}).map(([k, p]) => {
          const ts = types(p);
          const required = schema.required?.includes(k) ?? false;
          const common = { error: msg(`configuration.${k}`), hint: p.description, id: id(k), label: label(k, p) + (required ? ' *' : '') };
          if (ts.includes('boolean')) {
            return (
              <FormField key={k} {...common}>
                {(a) => (
                  <Select {...a} value={values[k] ?? ''} onChange={(e) => setValues((s) => ({ ...s, [k]: e.target.value }))}>
                    {ts.includes('null') ? <option value="">—</option> : null}
                    <option value="true">{t('common.yes')}</option>
                    <option value="false">{t('common.no')}</option>
                  </Select>
                )}
              </FormField>
            );
          }
          if (p.enum) {
            return (
              <FormField key={k} {...common}>
                {(a) => (
                  <Select {...a} value={values[k] ?? ''} onChange={(e) => setValues((s) => ({ ...s, [k]: e.target.value }))}>
                    {!required ? <option value="">—</option> : null}
                    {p.enum?.map((o) => (
                      <option key={String(o)} value={String(o)}>{String(o)}</option>
                    ))}
                  </Select>
                )}
              </FormField>
            );
          }
          const numeric = ts.includes('integer') || ts.includes('number');
          return (
            <FormField key={k} {...common}>
              {(a) => (
                <Input
                  {...a}
                  type={p.format === 'uri' ? 'url' : p.format === 'email' ? 'email' : numeric ? 'number' : 'text'}
                  min={p.minimum}
                  max={p.maximum}
                  step={ts.includes('integer') ? 1 : 'any'}
                  required={required}
                  value={values[k] ?? ''}
                  onChange={(e) => setValues((s) => ({ ...s, [k]: e.target.value }))}
                />
              )}
            </FormField>
          );
        })}
      </div>
      {provider.credentials.length > 0 ? (
        <fieldset className="rounded-md border border-slate-200 p-2">
          <legend className="px-1 text-sm font-semibold">{t('integrations.credentials')}</legend>
          <p className="mb-2 text-xs text-slate-700">{t('integrations.credentialsHint')}</p>
          <div className="grid gap-3 sm:grid-cols-2">
            {provider.credentials.map((c) => (
              <div key={c.name} className="flex flex-col gap-1" data-testid={`credential-${c.name}`}>
                <Badge variant={c.set ? 'green' : c.required ? 'amber' : 'default'} className="self-start">
                  {c.label}: {c.set ? t('integrations.set') : t('integrations.notSet')}
                </Badge>
                <FormField id={id(`secret-${c.name}`)} label={c.set ? t('integrations.replace', { label: c.label }) : t('integrations.setValue', { label: c.label })} error={msg(`credentials.${c.name}`)}>
                  {(a) => (
                    <Input
                      {...a}
                      type="password"
                      autoComplete="new-password"
                      value={secrets[c.name] ?? ''}
                      onChange={(e) => setSecrets((s) => ({ ...s, [c.name]: e.target.value }))}
                    />
                  )}
                </FormField>
              </div>
            ))}
          </div>
        </fieldset>
      ) : null}
      <div>
        <Button type="submit" disabled={saving}>{t('integrations.save')}</Button>
      </div>
    </form>
  );
}
