import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { ErrorMessage } from '@/components/page';
import { useCan } from '@/lib/auth';
import { leaveFor } from '@/lib/browser';
import { ApiError } from '@/lib/errors';
import { useAuthorizePipedrive, type Provider } from '../api';

/** The 409s of the authorize call (its `details.message` says what to fix). */
const REFUSALS = ['oauth_not_configured', 'public_url_required'];

/** A refused connection in words: the API's message, and what to fix when it says. */
function Refused({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!(error instanceof ApiError)) return <ErrorMessage error={error} />;
  const message = REFUSALS.includes(error.code) ? t(`integrations.pipedrive.refused.${error.code}`) : error.message;
  const detail = typeof error.details.message === 'string' ? error.details.message : null;
  return (
    <Alert>
      {message}
      {detail && detail !== message ? <span className="mt-1 block">{detail}</span> : null}
    </Alert>
  );
}

/**
 * Connecting Pipedrive with OAuth: whether Tentabo holds tokens ("Connected"), and the
 * button that sends the admin to Pipedrive's authorization page (they come back to the
 * integrations page with the outcome).
 */
export function PipedriveConnect({ provider }: { provider: Provider }) {
  const { t } = useTranslation();
  const can = useCan();
  const authorize = useAuthorizePipedrive();
  const [leaving, setLeaving] = React.useState(false);
  const config = provider.configuration as Record<string, unknown> | null | undefined;
  const oauth = config?.auth === 'oauth';
  const connected = provider.credentials.some((c) => c.name === 'oauth_tokens' && c.set);

  const connect = () => {
    authorize.mutate(undefined, {
      onSuccess: ({ url }) => {
        setLeaving(true);
        leaveFor(url);
      },
    });
  };

  return (
    <section aria-labelledby="pipedrive-oauth-title" className="rounded-md border border-slate-200 p-3">
      <h3 id="pipedrive-oauth-title" className="mb-1 text-sm font-semibold">
        {t('integrations.pipedrive.title')}
      </h3>
      {oauth ? (
        <div className="flex flex-col gap-2">
          <p className="text-sm">
            <Badge variant={connected ? 'green' : 'amber'} data-testid="pipedrive-connection">
              {connected ? t('integrations.pipedrive.connected') : t('integrations.pipedrive.notConnected')}
            </Badge>
          </p>
          {can('provider:manage') ? (
            <>
              <p className="text-xs text-slate-700">{t('integrations.pipedrive.hint')}</p>
              <div>
                <Button onClick={connect} disabled={authorize.isPending || leaving}>
                  {authorize.isPending || leaving ? t('integrations.pipedrive.connecting') : t('integrations.pipedrive.connect')}
                </Button>
              </div>
            </>
          ) : null}
          <div aria-live="polite">{authorize.error ? <Refused error={authorize.error} /> : null}</div>
        </div>
      ) : (
        <p className="text-sm text-slate-700">{t('integrations.pipedrive.oauthOff')}</p>
      )}
    </section>
  );
}
