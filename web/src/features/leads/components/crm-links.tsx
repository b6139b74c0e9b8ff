import { useTranslation } from 'react-i18next';
import { ExternalLink } from 'lucide-react';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { dateTime } from '@/lib/format';
import type { CrmLink } from '../types';

/** Only web addresses open from the console (never `javascript:` or the like). */
function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/** Where the lead lives in the CRM: one line per linked object (person, deal…). */
export function CrmLinks({ links }: { links: readonly CrmLink[] }) {
  const { t } = useTranslation();
  return (
    <Card className="self-start" data-testid="crm-links">
      <CardHeader>
        <CardTitle id="lead-crm-title">{t('leads.crm.title')}</CardTitle>
      </CardHeader>
      <CardContent>
        {links.length === 0 ? (
          <p className="text-sm text-slate-700">{t('leads.crm.empty')}</p>
        ) : (
          <ul className="flex flex-col gap-2" aria-labelledby="lead-crm-title">
            {links.map((l) => {
              const object = t(`leads.crm.objects.${l.object}`, { defaultValue: l.object });
              const provider = t(`leads.crm.providers.${l.provider}`, { defaultValue: l.provider });
              const url = safeUrl(l.url);
              return (
                <li
                  key={`${l.provider}-${l.object}-${l.external_id}`}
                  className="rounded-md border border-slate-200 p-2 text-sm"
                  data-testid="crm-link"
                >
                  <div className="flex flex-wrap items-baseline justify-between gap-2">
                    <span>
                      <span className="font-medium">{object}</span>{' '}
                      <span className="text-slate-700">
                        {provider} · {t('leads.crm.externalId')}{' '}
                        <span className="font-mono text-xs">{l.external_id}</span>
                      </span>
                    </span>
                    {url ? (
                      <a
                        href={url}
                        target="_blank"
                        rel="noopener noreferrer"
                        className="inline-flex items-center gap-1 text-blue-800 underline-offset-4 hover:underline"
                      >
                        {t('leads.crm.open', { provider })}
                        <span className="sr-only">{t('leads.crm.openContext', { object, id: l.external_id })}</span>
                        <ExternalLink aria-hidden="true" className="h-3 w-3" />
                      </a>
                    ) : null}
                  </div>
                  <p className="text-xs text-slate-700">
                    {t('leads.crm.synced', { when: dateTime(l.synced_at) })}
                  </p>
                </li>
              );
            })}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
