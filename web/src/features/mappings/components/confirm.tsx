import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Dialog, DialogContent } from '@/components/ui/dialog';
import { MappingError } from '../errors';

/**
 * A button that asks first: the dialog says what happens, `onConfirm` runs the action and
 * answers whether it succeeded (the dialog then closes; a refusal shows in it).
 */
export function ConfirmAction({
  label,
  title,
  description,
  confirmLabel,
  variant = 'default',
  pending,
  error,
  onOpen,
  onConfirm,
}: {
  label: string;
  title: string;
  description: string;
  confirmLabel: string;
  variant?: 'default' | 'destructive';
  pending: boolean;
  error: unknown;
  onOpen?: () => void;
  onConfirm: (close: () => void) => void;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = React.useState(false);
  return (
    <>
      <Button
        variant={variant === 'destructive' ? 'outline' : 'default'}
        className={variant === 'destructive' ? 'border-red-300 text-red-800 hover:bg-red-50' : undefined}
        onClick={() => {
          onOpen?.();
          setOpen(true);
        }}
      >
        {label}
      </Button>
      <Dialog open={open} onOpenChange={(o) => !pending && setOpen(o)}>
        <DialogContent title={title} description={description}>
          <div aria-live="polite">
            <MappingError error={error} />
          </div>
          <div className="mt-3 flex justify-end gap-2">
            <Button variant="outline" onClick={() => setOpen(false)} disabled={pending}>
              {t('common.cancel')}
            </Button>
            <Button variant={variant} onClick={() => onConfirm(() => setOpen(false))} disabled={pending}>
              {pending ? t('mappings.confirm.working') : confirmLabel}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
    </>
  );
}
