import { useTranslation } from 'react-i18next';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { ErrorMessage, Loading } from '@/components/page';
import { dateTime } from '@/lib/format';
import { useHistory, type Kind } from './api';

/** The transitions a resource went through, oldest first. */
export function History({ kind, id }: { kind: Kind; id: string }) {
  const { t } = useTranslation();
  const history = useHistory(kind, id);
  return (
    <Card className="self-start">
      <CardHeader>
        <CardTitle>{t('history.title')}</CardTitle>
      </CardHeader>
      <CardContent>
        {history.isPending ? <Loading /> : null}
        <ErrorMessage error={history.error} />
        {history.data && history.data.items.length === 0 ? (
          <p className="text-sm text-slate-700">{t('history.empty')}</p>
        ) : null}
        <ol className="flex flex-col gap-2">
          {history.data?.items.map((h) => (
            <li key={h.version} className="text-sm">
              <span className="font-medium">{t(`events.${h.event}`, { defaultValue: h.event })}</span>
              {': '}
              {t(`states.${h.from_state}`, { defaultValue: h.from_state })} →{' '}
              {t(`states.${h.to_state}`, { defaultValue: h.to_state })}
              <span className="block text-xs text-slate-700">{dateTime(h.occurred_at)}</span>
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}
