import * as React from 'react';
import { useForm, useWatch } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Input, Select } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Table, TBody, TD, TH, THead, TR } from '@/components/ui/table';
import { FormField } from '@/components/form-field';
import { Empty, ErrorMessage, Loading } from '@/components/page';
import { useCan } from '@/lib/auth';
import { ApiError } from '@/lib/errors';
import { applyApiErrors, fieldMessage } from '@/lib/forms';
import { dateTime } from '@/lib/format';
import { useDistributorOptions, usePartnerOptions } from '@/lib/partners';
import { SOURCES, useLinkOwner, useOwnerLinks } from '../api';

const schema = z.object({
  provider: z.string().min(1, 'required'),
  owner_external_id: z.string().trim().min(1, 'required').max(200, 'too_long'),
  kind: z.enum(['partner', 'distributor']),
  organisation: z.string().min(1, 'required'),
});
type Values = z.infer<typeof schema>;

/** Which partner or distributor each source user (e.g. an Odoo salesperson) sells for. */
export function OwnerLinks() {
  const { t } = useTranslation();
  const can = useCan();
  const links = useOwnerLinks();
  const link = useLinkOwner();
  const partners = usePartnerOptions();
  const distributors = useDistributorOptions();
  const [banner, setBanner] = React.useState<{ ok: boolean; text: string } | null>(null);
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    defaultValues: { provider: 'odoo', owner_external_id: '', kind: 'partner', organisation: '' },
  });
  const kind = useWatch({ control: form.control, name: 'kind' });
  const errors = form.formState.errors;
  const msg = (m?: string) => (m ? (m.includes(' ') || m.endsWith('.') ? m : fieldMessage(t, m)) : undefined);
  const names = new Map([...(partners.data ?? []), ...(distributors.data ?? [])].map((o) => [o.id, o.name]));
  const options = kind === 'partner' ? (partners.data ?? []) : (distributors.data ?? []);

  const submit = form.handleSubmit(async (v) => {
    setBanner(null);
    try {
      await link.mutateAsync({
        provider: v.provider,
        owner_external_id: v.owner_external_id.trim(),
        partner_id: v.kind === 'partner' ? v.organisation : null,
        distributor_id: v.kind === 'distributor' ? v.organisation : null,
      });
      setBanner({ ok: true, text: t('sync.owners.linked', { owner: v.owner_external_id.trim(), name: names.get(v.organisation) ?? v.organisation }) });
      form.reset({ ...v, owner_external_id: '', organisation: '' });
    } catch (e) {
      // `partner_id` / `distributor_id` errors belong to the organisation picker.
      const { handled, others } = applyApiErrors(t, e, (field, err) => {
        form.setError(field === 'owner_external_id' ? 'owner_external_id' : 'organisation', err);
      }, ['owner_external_id', 'partner_id', 'distributor_id']);
      if (!handled || others.length) setBanner({ ok: false, text: others.join(' ') || (e instanceof ApiError ? e.message : t('errors.network')) });
    }
  });

  return (
    <div className="flex flex-col gap-4">
      {can('job:manage') ? (
        <Card>
          <CardHeader>
            <CardTitle>{t('sync.owners.link')}</CardTitle>
          </CardHeader>
          <CardContent className="flex flex-col gap-3">
            <p className="text-sm text-slate-700">{t('sync.owners.hint')}</p>
            <div aria-live="polite">{banner ? <Alert variant={banner.ok ? 'success' : 'error'}>{banner.text}</Alert> : null}</div>
            <form onSubmit={submit} noValidate className="grid gap-3 sm:grid-cols-5 sm:items-start" aria-label={t('sync.owners.link')}>
              <FormField id="owner-provider" label={t('sync.provider')} error={msg(errors.provider?.message)}>
                {(a) => (
                  <Select {...a} {...form.register('provider')}>
                    {Object.keys(SOURCES).map((p) => (
                      <option key={p} value={p}>{p}</option>
                    ))}
                  </Select>
                )}
              </FormField>
              <FormField id="owner-external-id" label={t('sync.owners.externalId')} error={msg(errors.owner_external_id?.message)}>
                {(a) => <Input {...a} autoComplete="off" {...form.register('owner_external_id')} />}
              </FormField>
              <FormField id="owner-kind" label={t('sync.owners.kind')}>
                {(a) => (
                  <Select {...a} {...form.register('kind', { onChange: () => form.setValue('organisation', '') })}>
                    <option value="partner">{t('sync.owners.partner')}</option>
                    <option value="distributor">{t('sync.owners.distributor')}</option>
                  </Select>
                )}
              </FormField>
              <FormField id="owner-organisation" label={t('sync.owners.organisation')} error={msg(errors.organisation?.message)}>
                {(a) => (
                  <Select {...a} {...form.register('organisation')}>
                    <option value="">{t('sync.owners.choose')}</option>
                    {options.map((o) => (
                      <option key={o.id} value={o.id}>{o.name}</option>
                    ))}
                  </Select>
                )}
              </FormField>
              <Button type="submit" className="sm:mt-6" disabled={form.formState.isSubmitting}>{t('sync.owners.submit')}</Button>
            </form>
          </CardContent>
        </Card>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>{t('sync.owners.title')}</CardTitle>
        </CardHeader>
        <CardContent>
          <ErrorMessage error={links.error} />
          {links.isPending ? <Loading /> : null}
          {links.data && links.data.length === 0 ? <Empty>{t('sync.owners.empty')}</Empty> : null}
          {links.data && links.data.length > 0 ? (
            <Table>
              <THead>
                <TR>
                  <TH>{t('sync.provider')}</TH>
                  <TH>{t('sync.owners.externalId')}</TH>
                  <TH>{t('sync.owners.organisation')}</TH>
                  <TH className="hidden sm:table-cell">{t('common.created')}</TH>
                </TR>
              </THead>
              <TBody>
                {links.data.map((l) => {
                  const org = l.partner_id ?? l.distributor_id ?? '';
                  return (
                    <TR key={`${l.provider}-${l.owner_external_id}`} data-testid="owner-link">
                      <TD>{l.provider}</TD>
                      <TD className="font-mono text-xs">{l.owner_external_id}</TD>
                      <TD>
                        {names.get(org) ?? org}{' '}
                        <span className="text-xs text-slate-700">
                          ({t(l.partner_id ? 'sync.owners.partner' : 'sync.owners.distributor')})
                        </span>
                      </TD>
                      <TD className="hidden sm:table-cell">{dateTime(l.created_at)}</TD>
                    </TR>
                  );
                })}
              </TBody>
            </Table>
          ) : null}
        </CardContent>
      </Card>
    </div>
  );
}
