import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { ChevronDown } from 'lucide-react';
import { Button } from '@/components/ui/button';
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuTrigger,
} from '@/components/ui/dropdown-menu';
import { money } from '@/lib/format';
import { canConvert, moves, type Lead } from '../types';

/** A kanban card: its moves are exactly the events the API allows this caller now. */
export function LeadCard({
  lead,
  onEvent,
  busy = false,
}: {
  lead: Lead;
  onEvent: (lead: Lead, event: string) => void;
  busy?: boolean;
}) {
  const { t } = useTranslation();
  const options = moves(lead);
  const convert = canConvert(lead);
  return (
    <article
      className="rounded-md border border-slate-200 bg-white p-2 shadow-sm"
      draggable={options.length > 0}
      onDragStart={(e) => {
        e.dataTransfer.setData('application/x-tentabo-lead', lead.id);
        e.dataTransfer.effectAllowed = 'move';
      }}
      aria-labelledby={`lead-${lead.id}-title`}
      data-testid="lead-card"
    >
      <h3 id={`lead-${lead.id}-title`} className="text-sm font-semibold leading-tight">
        <Link to={`/leads/${lead.id}`} className="text-blue-800 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600">
          {lead.title}
        </Link>
      </h3>
      <p className="truncate text-xs text-slate-700">{lead.organization}</p>
      <div className="mt-1 flex items-center justify-between gap-1">
        <span className="text-xs font-medium">{money(lead.value, lead.currency)}</span>
        {options.length > 0 || convert ? (
          <DropdownMenu>
            <DropdownMenuTrigger asChild>
              <Button
                variant="outline"
                size="sm"
                disabled={busy}
                aria-label={t('leads.moveMenu', { title: lead.title })}
              >
                {t('leads.move')}
                <ChevronDown className="h-3 w-3" aria-hidden />
              </Button>
            </DropdownMenuTrigger>
            <DropdownMenuContent align="end">
              <DropdownMenuLabel>{t('leads.moveTo')}</DropdownMenuLabel>
              {options.map((m) => (
                <DropdownMenuItem key={m.event} onSelect={() => onEvent(lead, m.event)}>
                  {t(`leads.eventAction.${m.event}`, { state: t(`states.${m.to}`) })}
                </DropdownMenuItem>
              ))}
              {convert ? (
                <DropdownMenuItem onSelect={() => onEvent(lead, 'convert')}>
                  {t('leads.eventAction.convert')}
                </DropdownMenuItem>
              ) : null}
            </DropdownMenuContent>
          </DropdownMenu>
        ) : null}
      </div>
    </article>
  );
}
