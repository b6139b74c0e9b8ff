import * as React from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { Button } from './ui/button';
import { Select } from './ui/input';
import { Alert } from './ui/alert';
import { Dialog, DialogContent } from './ui/dialog';
import { FormField } from './form-field';
import { Loading } from './page';
import { applyApiErrors } from '@/lib/forms';
import { ApiError } from '@/lib/errors';
import { useDistributorOptions, usePartnerOptions } from '@/lib/partners';

const schema = z
  .object({ partner_id: z.string(), distributor_id: z.string() })
  .refine((v) => v.partner_id !== '' || v.distributor_id !== '', { path: ['partner_id'], message: 'required' });
type Values = z.infer<typeof schema>;

export interface Owners {
  partner_id: string | null;
  distributor_id: string | null;
}

/**
 * Moves a sales row (order, contract) to other owning organisations: a partner and/or a
 * distributor, with the API's field errors under the field they concern.
 */
export function ReassignDialog({
  open,
  onOpenChange,
  title,
  current,
  onSubmit,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  current: Owners;
  onSubmit: (owners: Owners) => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const partners = usePartnerOptions();
  const distributors = useDistributorOptions(open);
  const [banner, setBanner] = React.useState<string | null>(null);
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    values: { partner_id: current.partner_id ?? '', distributor_id: current.distributor_id ?? '' },
  });
  const errors = form.formState.errors;
  const message = (m?: string) => (m ? (m.includes(' ') ? m : t(`fieldErrors.${m}`)) : undefined);

  const submit = form.handleSubmit(async (v) => {
    setBanner(null);
    try {
      await onSubmit({ partner_id: v.partner_id || null, distributor_id: v.distributor_id || null });
      onOpenChange(false);
    } catch (e) {
      const { handled, others } = applyApiErrors(t, e, form.setError, ['partner_id', 'distributor_id']);
      if (!handled || others.length) setBanner(others.join(' ') || (e instanceof ApiError ? e.message : t('errors.network')));
    }
  });

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title={title} description={t('reassign.hint')}>
        <form onSubmit={submit} className="flex flex-col gap-3" noValidate>
          {banner ? <Alert>{banner}</Alert> : null}
          {/* The pickers wait for their options: a select keeps the current owner only if it is listed. */}
          {partners.isLoading || distributors.isLoading ? <Loading /> : <>
          <FormField id="reassign-partner" label={t('reassign.partner')} error={message(errors.partner_id?.message)}>
            {(a) => (
              <Select {...a} {...form.register('partner_id')}>
                <option value="">{t('reassign.none')}</option>
                {(partners.data ?? []).map((p) => (
                  <option key={p.id} value={p.id}>{p.name}</option>
                ))}
              </Select>
            )}
          </FormField>
          <FormField id="reassign-distributor" label={t('reassign.distributor')} error={message(errors.distributor_id?.message)}>
            {(a) => (
              <Select {...a} {...form.register('distributor_id')}>
                <option value="">{t('reassign.none')}</option>
                {(distributors.data ?? []).map((d) => (
                  <option key={d.id} value={d.id}>{d.name}</option>
                ))}
              </Select>
            )}
          </FormField>
          </>}
          <div className="flex justify-end gap-2">
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {t('common.back')}
            </Button>
            <Button type="submit" disabled={form.formState.isSubmitting}>
              {t('reassign.submit')}
            </Button>
          </div>
        </form>
      </DialogContent>
    </Dialog>
  );
}
