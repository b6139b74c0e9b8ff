import * as React from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { Button } from '@/components/ui/button';
import { Alert } from '@/components/ui/alert';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { ErrorMessage } from '@/components/page';
import { useDeactivate, type Deactivation } from '../api';

/** What was deactivated, and what the API answered. */
export interface DeactivationOutcome {
  kind: string;
  label: string;
  result: Deactivation;
}

/** What deactivating a provider of this kind does, in words. */
export function deactivationConsequence(t: TFunction, kind: string): string {
  switch (kind) {
    case 'auth':
      return t('integrations.deactivation.consequenceAuth');
    case 'llm':
      // Field mapping goes on without it: the rules engine alone proposes.
      return t('integrations.deactivation.consequenceLlm');
    default:
      return t('integrations.deactivation.consequenceOther');
  }
}

/** What is so once a provider of this kind is deactivated, in words. */
function deactivationDone(t: TFunction, kind: string): string {
  switch (kind) {
    case 'auth':
      return t('integrations.deactivation.doneAuth');
    case 'llm':
      return t('integrations.deactivation.doneLlm');
    default:
      return t('integrations.deactivation.doneOther');
  }
}

/**
 * The "Deactivate" action of the active provider, behind a confirmation that says what
 * it does for its kind. `onDone` gets the API's answer once it is applied (the lists are
 * read again by then).
 */
export function DeactivateProvider({
  kind,
  name,
  label,
  onDone,
  size,
}: {
  kind: string;
  name: string;
  label: string;
  onDone: (outcome: DeactivationOutcome) => void;
  size?: 'sm' | 'default';
}) {
  const { t } = useTranslation();
  const deactivate = useDeactivate(kind, name);
  const [open, setOpen] = React.useState(false);

  const confirm = () =>
    deactivate.mutate(undefined, {
      onSuccess: (result) => {
        setOpen(false);
        onDone({ kind, label, result });
      },
    });

  return (
    <>
      <Button
        size={size}
        variant="outline"
        className="border-red-300 text-red-800 hover:bg-red-50"
        onClick={() => {
          deactivate.reset();
          setOpen(true);
        }}
        aria-label={t('integrations.deactivateNamed', { name: label })}
      >
        {t('integrations.deactivate')}
      </Button>
      <Dialog open={open} onOpenChange={(o) => !deactivate.isPending && setOpen(o)}>
        <DialogContent title={t('integrations.deactivation.title', { name: label })} description={deactivationConsequence(t, kind)}>
          <p className="text-sm text-slate-700">{t('integrations.deactivation.kept')}</p>
          <div aria-live="polite" className="mt-2">
            <ErrorMessage error={deactivate.error} />
          </div>
          <div className="mt-3 flex justify-end gap-2">
            <Button variant="outline" onClick={() => setOpen(false)} disabled={deactivate.isPending}>
              {t('common.cancel')}
            </Button>
            <Button variant="destructive" onClick={confirm} disabled={deactivate.isPending}>
              {deactivate.isPending ? t('integrations.deactivation.working') : t('integrations.deactivation.confirm')}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
    </>
  );
}

/** The outcome of a deactivation, as a notice. */
export function DeactivationNotice({ outcome, onDismiss }: { outcome: DeactivationOutcome; onDismiss?: () => void }) {
  const { t } = useTranslation();
  const { kind, label, result } = outcome;
  return (
    <Alert variant={result.was_active ? 'success' : 'info'} className="flex flex-wrap items-center justify-between gap-2" data-testid="deactivation-outcome">
      <span>
        {result.was_active
          ? `${t('integrations.deactivation.done', { name: label })} ${deactivationDone(t, kind)}`
          : t('integrations.deactivation.wasNotActive', { name: label })}
      </span>
      {onDismiss ? (
        <Button size="sm" variant="outline" onClick={onDismiss}>
          {t('integrations.oauth.dismiss')}
        </Button>
      ) : null}
    </Alert>
  );
}
