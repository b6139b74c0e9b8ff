import * as React from 'react';
import { useFieldArray, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { Plus, Trash2 } from 'lucide-react';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { FormField } from '@/components/form-field';
import { ErrorMessage, Loading } from '@/components/page';
import { useCan } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import { dateTime } from '@/lib/format';
import {
  LEAD_STATUSES,
  SETTINGS_PROVIDERS,
  SEVERITIES,
  useSaveSyncSettings,
  useSyncSettings,
  type Severity,
  type SettingsView,
  type SyncSettings,
} from '../api';

const schema = z.object({
  default_country: z.string().trim().regex(/^([A-Za-z]{2})?$/, 'invalid_country'),
  severity: z.record(z.string(), z.string()),
  lead_stages: z.array(z.object({ stage: z.string().trim().min(1, 'required').max(200, 'too_long'), status: z.string().min(1, 'required') })),
});
type Values = z.infer<typeof schema>;

function toValues(view: SettingsView): Values {
  const severity: Record<string, string> = {};
  for (const code of Object.keys(view.effective.severity ?? {})) severity[code] = view.stored.severity?.[code] ?? '';
  return {
    default_country: view.stored.default_country ?? '',
    severity,
    lead_stages: Object.entries(view.stored.lead_stages ?? {}).map(([stage, status]) => ({ stage, status })),
  };
}

function toBody(v: Values): SyncSettings {
  const severity: Record<string, Severity> = {};
  for (const [code, s] of Object.entries(v.severity)) if (s) severity[code] = s as Severity;
  return {
    default_country: v.default_country.trim() ? v.default_country.trim().toUpperCase() : null,
    severity,
    lead_stages: Object.fromEntries(v.lead_stages.map((r) => [r.stage.trim(), r.status])),
  };
}

/** One provider's settings form: the API's field errors land under the field they name. */
export function SettingsForm({ provider, view }: { provider: string; view: SettingsView }) {
  const { t } = useTranslation();
  const can = useCan();
  const save = useSaveSyncSettings(provider);
  const [banner, setBanner] = React.useState<{ ok: boolean; text: string } | null>(null);
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: toValues(view) });
  const stages = useFieldArray({ control: form.control, name: 'lead_stages' });
  const errors = form.formState.errors;
  const readOnly = !can('job:manage');
  const msg = (m?: string) => (m ? (m.includes(' ') || m.endsWith('.') ? m : fieldMessage(t, m)) : undefined);

  const submit = form.handleSubmit(async (v) => {
    setBanner(null);
    try {
      const saved = await save.mutateAsync(toBody(v));
      form.reset(toValues(saved));
      setBanner({ ok: true, text: t('sync.settings.saved') });
    } catch (e) {
      if (!(e instanceof ApiError) || Object.keys(e.fields).length === 0) {
        setBanner({ ok: false, text: e instanceof ApiError ? e.message : t('errors.network') });
        return;
      }
      const others: string[] = [];
      for (const [field, codes] of Object.entries(e.fields)) {
        const text = codes.map((c) => fieldMessage(t, c)).join(' ');
        const [head, ...rest] = field.split('.');
        const key = rest.join('.');
        if (field === 'default_country') form.setError('default_country', { type: 'server', message: text });
        else if (head === 'severity' && key in v.severity) form.setError(`severity.${key}`, { type: 'server', message: text });
        else if (head === 'lead_stages' && key) {
          const i = v.lead_stages.findIndex((r) => r.stage.trim() === key);
          if (i >= 0) form.setError(`lead_stages.${i}.status`, { type: 'server', message: text });
          else others.push(`${key}: ${text}`);
        } else others.push(`${field}: ${text}`);
      }
      setBanner({ ok: false, text: others.length ? others.join(' ') : t('sync.settings.fix') });
    }
  });

  const defaults = Object.entries(view.effective.lead_stages ?? {}).filter(([k]) => !(view.stored.lead_stages ?? {})[k]);

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-4" aria-label={t('sync.settings.formOf', { provider })}>
      <div aria-live="polite">{banner ? <Alert variant={banner.ok ? 'success' : 'error'}>{banner.text}</Alert> : null}</div>
      <Card>
        <CardHeader>
          <CardTitle>{t('sync.settings.general')}</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-3 sm:grid-cols-2">
          <FormField
            id="settings-country"
            label={t('sync.settings.defaultCountry')}
            hint={t('sync.settings.defaultCountryHint', { effective: view.effective.default_country ?? '—' })}
            error={msg(errors.default_country?.message)}
          >
            {(a) => <Input {...a} maxLength={8} autoComplete="off" disabled={readOnly} {...form.register('default_country')} />}
          </FormField>
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('sync.settings.severities')}</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-3 sm:grid-cols-3">
          {Object.keys(view.effective.severity ?? {}).sort().map((code) => (
            <FormField key={code} id={`severity-${code}`} label={t(`sync.rules.${code}`, { defaultValue: code })} error={msg(errors.severity?.[code]?.message)}>
              {(a) => (
                <Select {...a} disabled={readOnly} {...form.register(`severity.${code}`)}>
                  <option value="">
                    {/* What is in force includes what is stored: name the default only when nothing overrides it. */}
                    {view.stored.severity?.[code]
                      ? t('sync.settings.defaultPlain')
                      : t('sync.settings.default', { severity: t(`sync.severity.${view.effective.severity[code]}`) })}
                  </option>
                  {SEVERITIES.map((s) => (
                    <option key={s} value={s}>{t(`sync.severity.${s}`)}</option>
                  ))}
                </Select>
              )}
            </FormField>
          ))}
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('sync.settings.leadStages')}</CardTitle>
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          <p className="text-sm text-slate-700">{t('sync.settings.leadStagesHint')}</p>
          {stages.fields.map((f, i) => (
            <div key={f.id} className="grid items-start gap-2 sm:grid-cols-[1fr_1fr_auto]" data-testid="stage-row">
              <FormField id={`stage-${i}-name`} label={t('sync.settings.stageName', { n: i + 1 })} error={msg(errors.lead_stages?.[i]?.stage?.message)}>
                {(a) => <Input {...a} disabled={readOnly} {...form.register(`lead_stages.${i}.stage`)} />}
              </FormField>
              <FormField id={`stage-${i}-status`} label={t('sync.settings.stageStatus', { n: i + 1 })} error={msg(errors.lead_stages?.[i]?.status?.message)}>
                {(a) => (
                  <Select {...a} disabled={readOnly} {...form.register(`lead_stages.${i}.status`)}>
                    <option value="">{t('sync.settings.chooseStatus')}</option>
                    {LEAD_STATUSES.map((s) => (
                      <option key={s} value={s}>{t(`states.${s}`)}</option>
                    ))}
                    {/* A stored value the API no longer knows stays visible, to be corrected. */}
                    {form.getValues(`lead_stages.${i}.status`) && !(LEAD_STATUSES as readonly string[]).includes(form.getValues(`lead_stages.${i}.status`)) ? (
                      <option value={form.getValues(`lead_stages.${i}.status`)}>{form.getValues(`lead_stages.${i}.status`)}</option>
                    ) : null}
                  </Select>
                )}
              </FormField>
              {readOnly ? null : (
                <Button type="button" variant="ghost" size="sm" className="sm:mt-6" onClick={() => stages.remove(i)} aria-label={t('sync.settings.removeStage', { n: i + 1 })}>
                  <Trash2 className="h-4 w-4" aria-hidden />
                </Button>
              )}
            </div>
          ))}
          {readOnly ? null : (
            <div>
              <Button type="button" variant="outline" onClick={() => stages.append({ stage: '', status: '' })}>
                <Plus className="h-4 w-4" aria-hidden />
                {t('sync.settings.addStage')}
              </Button>
            </div>
          )}
          {defaults.length > 0 ? (
            <details className="text-sm">
              <summary className="cursor-pointer text-slate-700">{t('sync.settings.builtIn', { count: defaults.length })}</summary>
              <ul className="mt-1 grid grid-cols-2 gap-x-4 sm:grid-cols-4">
                {defaults.map(([k, v]) => (
                  <li key={k}>{k} → {t(`states.${v}`, { defaultValue: v })}</li>
                ))}
              </ul>
            </details>
          ) : null}
        </CardContent>
      </Card>
      {readOnly ? null : (
        <div className="flex items-center gap-3">
          <Button type="submit" disabled={form.formState.isSubmitting}>{t('common.save')}</Button>
          {view.updated_at ? <span className="text-xs text-slate-700">{t('common.updated')}: {dateTime(view.updated_at)}</span> : null}
        </div>
      )}
    </form>
  );
}

export function SyncSettingsPanel() {
  const { t } = useTranslation();
  const [provider, setProvider] = React.useState<string>(SETTINGS_PROVIDERS[0]);
  const q = useSyncSettings(provider);
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-col gap-1 sm:w-56">
        <Label htmlFor="settings-provider">{t('sync.provider')}</Label>
        <Select id="settings-provider" value={provider} onChange={(e) => setProvider(e.target.value)}>
          {SETTINGS_PROVIDERS.map((p) => (
            <option key={p} value={p}>{p}</option>
          ))}
        </Select>
      </div>
      <ErrorMessage error={q.error} />
      {q.isPending ? <Loading /> : null}
      {q.data ? <SettingsForm key={provider} provider={provider} view={q.data} /> : null}
    </div>
  );
}
