import * as React from 'react';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Textarea } from '@/components/ui/input';
import { Alert } from '@/components/ui/alert';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { FormField } from '@/components/form-field';
import { transitionErrorMessage } from '@/components/lifecycle/api';
import { applyApiErrors } from '@/lib/forms';

const schema = z.object({ lost_reason: z.string().trim().min(1, 'required').max(1000, 'too_long') });
type Values = z.infer<typeof schema>;

/**
 * Asks why a lead was lost before the `lose` move is sent. `onConfirm` sends it; its
 * field errors show under the reason, anything else above the form.
 */
export function LostReasonDialog({
  title,
  open,
  onOpenChange,
  onConfirm,
}: {
  title: string | null;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onConfirm: (reason: string) => Promise<unknown>;
}) {
  const { t } = useTranslation();
  const [banner, setBanner] = React.useState<string | null>(null);
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { lost_reason: '' } });
  React.useEffect(() => {
    if (open) {
      form.reset({ lost_reason: '' });
      setBanner(null);
    }
  }, [open, form]);
  const error = form.formState.errors.lost_reason?.message;

  const submit = form.handleSubmit(async (v) => {
    setBanner(null);
    try {
      await onConfirm(v.lost_reason.trim());
      onOpenChange(false);
    } catch (e) {
      const { handled, others } = applyApiErrors(t, e, form.setError, ['lost_reason']);
      if (!handled || others.length) setBanner(others.length ? others.join(' ') : transitionErrorMessage(t, e));
    }
  });

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title={t('leads.loseTitle')} description={title ? t('leads.loseHint', { title }) : undefined}>
        <form onSubmit={submit} noValidate className="flex flex-col gap-3">
          <div aria-live="polite">{banner ? <Alert>{banner}</Alert> : null}</div>
          <FormField
            id="lost-reason"
            label={t('leads.fields.lost_reason')}
            error={error ? (error.includes(' ') ? error : t(`fieldErrors.${error}`)) : undefined}
          >
            {(a) => <Textarea rows={3} {...a} {...form.register('lost_reason')} />}
          </FormField>
          <div className="flex justify-end gap-2">
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {t('common.cancel')}
            </Button>
            <Button type="submit" variant="destructive" disabled={form.formState.isSubmitting}>
              {t('leads.markLost')}
            </Button>
          </div>
        </form>
      </DialogContent>
    </Dialog>
  );
}
