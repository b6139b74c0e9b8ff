import * as React from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { Button } from '@/components/ui/button';
import { Input } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent } from '@/components/ui/card';
import { FormField } from '@/components/form-field';
import { ErrorMessage } from '@/components/page';
import { applyApiErrors } from '@/lib/forms';
import { usePartnerOptions } from '@/lib/partners';
import { Select } from '@/components/ui/input';
import { useCreateLead, useUpdateLead } from '../api';
import type { Lead } from '../types';

const MONEY = /^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$/;

const schema = z.object({
  title: z.string().trim().min(1, 'required').max(200, 'too_long'),
  organization: z.string().trim().min(1, 'required').max(200, 'too_long'),
  contact_name: z.string().trim().min(1, 'required').max(200, 'too_long'),
  contact_email: z.string().trim().min(1, 'required').email('invalid_email'),
  contact_phone: z.string().trim().max(50, 'too_long'),
  value: z.string().trim().refine((v) => v === '' || MONEY.test(v), 'invalid_amount'),
  currency: z.string().trim().regex(/^[A-Z]{3}$/, 'invalid_currency'),
  probability: z
    .string()
    .trim()
    .refine((v) => v === '' || (/^\d+$/.test(v) && Number(v) <= 100), 'out_of_range'),
  expected_close_date: z.string(),
  source: z.string().trim().max(200, 'too_long'),
  partner_id: z.string(),
});
type Values = z.infer<typeof schema>;
const FIELDS = Object.keys(schema.shape) as (keyof Values)[];

function toValues(l?: Lead): Values {
  return {
    title: l?.title ?? '',
    organization: l?.organization ?? '',
    contact_name: l?.contact_name ?? '',
    contact_email: l?.contact_email ?? '',
    contact_phone: l?.contact_phone ?? '',
    value: l?.value ?? '',
    currency: l?.currency ?? 'EUR',
    probability: l?.probability != null ? String(l.probability) : '',
    expected_close_date: l?.expected_close_date ? l.expected_close_date.slice(0, 10) : '',
    source: l?.source ?? '',
    partner_id: l?.partner_id ?? '',
  };
}

export function LeadForm({ lead }: { lead?: Lead }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const create = useCreateLead();
  const partners = usePartnerOptions();
  const update = useUpdateLead(lead?.id ?? '');
  const [failure, setFailure] = React.useState<unknown>(null);
  const [others, setOthers] = React.useState<string[]>([]);
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: toValues(lead) });
  const { errors, isSubmitting } = form.formState;

  const err = (n: keyof Values) => {
    const e = errors[n];
    if (!e?.message) return undefined;
    return e.type === 'server' ? e.message : t(`fieldErrors.${e.message}`);
  };

  const onSubmit = form.handleSubmit(async (v) => {
    setFailure(null);
    setOthers([]);
    const optional = (s: string) => (s.trim() === '' ? null : s.trim());
    const body = {
      title: v.title.trim(),
      organization: v.organization.trim(),
      contact_name: v.contact_name.trim(),
      contact_email: v.contact_email.trim(),
      contact_phone: optional(v.contact_phone),
      value: optional(v.value),
      currency: v.currency.trim(),
      probability: v.probability.trim() === '' ? null : Number(v.probability),
      expected_close_date: v.expected_close_date ? `${v.expected_close_date}T00:00:00Z` : null,
      source: optional(v.source),
    };
    try {
      const saved = lead
        ? await update.mutateAsync(body)
        : await create.mutateAsync({ ...body, partner_id: v.partner_id || null });
      void navigate(`/leads/${saved.id}`);
    } catch (e) {
      const r = applyApiErrors(t, e, form.setError, FIELDS);
      if (r.handled) setOthers(r.others);
      else setFailure(e);
    }
  });

  const text = (name: keyof Values, type = 'text', extra: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <FormField id={`lead-${name}`} label={t(`leads.fields.${name}`)} error={err(name)}>
      {(a) => <Input type={type} {...extra} {...a} {...form.register(name)} />}
    </FormField>
  );

  return (
    <Card>
      <CardContent className="pt-4">
        <form onSubmit={onSubmit} noValidate className="flex flex-col gap-3" aria-label={lead ? t('leads.edit') : t('leads.new')}>
          <ErrorMessage error={failure} />
          {others.length ? <Alert>{others.join(' ')}</Alert> : null}
          <div className="grid gap-3 sm:grid-cols-2">
            {text('title')}
            {text('organization')}
            {text('contact_name')}
            {text('contact_email', 'email')}
            {text('contact_phone', 'tel')}
            {text('value', 'text', { inputMode: 'decimal', placeholder: '12000.00' })}
            {text('currency', 'text', { maxLength: 3 })}
            {text('probability', 'text', { inputMode: 'numeric' })}
            {text('expected_close_date', 'date')}
            {text('source')}
            {!lead && partners.data && partners.data.length > 0 ? (
              <FormField id="lead-partner_id" label={t('leads.fields.partner_id')} error={err('partner_id')}>
                {(a) => (
                  <Select {...a} {...form.register('partner_id')}>
                    <option value="">{t('common.none')}</option>
                    {partners.data.map((p) => (
                      <option key={p.id} value={p.id}>{p.name}</option>
                    ))}
                  </Select>
                )}
              </FormField>
            ) : null}
          </div>
          <div className="flex gap-2">
            <Button type="submit" disabled={isSubmitting}>
              {lead ? t('common.save') : t('leads.create')}
            </Button>
            <Button variant="outline" onClick={() => void navigate(lead ? `/leads/${lead.id}` : '/leads')}>
              {t('common.cancel')}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
