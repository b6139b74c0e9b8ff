import * as React from 'react';
import { Link, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Alert } from '@/components/ui/alert';
import { Card, CardContent, CardHeader, CardTitle } from '@/components/ui/card';
import { Input, Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { Table, TBody, TH, THead, TR } from '@/components/ui/table';
import { Empty, ErrorMessage, Loading, PageHeader } from '@/components/page';
import { useCan } from '@/lib/auth';
import { dateTime } from '@/lib/format';
import {
  awaitingReplay,
  useApproveVersion,
  useDecide,
  useMappingVersion,
  useRejectVersion,
  type Decision,
  type Rule,
  type VersionDetail,
} from '../api';
import { decisionErrors, MappingError, type RowErrors } from '../errors';
import { objectPath } from '../targets';
import { ConfirmAction } from './confirm';
import { useEntityLabel, VersionStatus } from './labels';
import { ReplayPanel } from './replay-panel';
import { RuleRow } from './rule-row';

const STATUS_FILTERS = ['all', 'proposed', 'approved', 'rejected'] as const;
type StatusFilter = (typeof STATUS_FILTERS)[number];

function fold(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

export function filterRules(rules: readonly Rule[], status: StatusFilter, search: string): Rule[] {
  const q = fold(search.trim());
  return rules.filter(
    (r) =>
      (status === 'all' || r.status === status) &&
      (q === '' || fold(r.source_field).includes(q) || fold(r.source_label ?? '').includes(q)),
  );
}

function Details({ v }: { v: VersionDetail }) {
  const { t } = useTranslation();
  const who = (w: string | null | undefined) => w ?? t('mappings.system');
  const rows: [string, React.ReactNode][] = [
    [t('mappings.version.status'), <VersionStatus key="s" status={v.status} />],
    [t('mappings.version.origin'), t(`mappings.origin.${v.origin}`, { defaultValue: v.origin })],
    [t('mappings.version.created'), t('mappings.version.byAt', { at: dateTime(v.created_at), who: who(v.created_by) })],
    [t('mappings.version.decided'), v.decided_at ? t('mappings.version.byAt', { at: dateTime(v.decided_at), who: who(v.decided_by) }) : '—'],
    [t('mappings.version.activated'), dateTime(v.activated_at)],
    [t('mappings.version.rules'), t('mappings.version.counts', { proposed: v.proposed, approved: v.approved, rejected: v.rejected })],
  ];
  return (
    <dl className="grid gap-x-4 gap-y-1 text-sm sm:grid-cols-[max-content_1fr]" data-testid="version-details">
      {rows.map(([k, val]) => (
        <React.Fragment key={k}>
          <dt className="font-medium text-slate-700">{k}</dt>
          <dd>{val}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}

function VersionActions({ v, onDone }: { v: VersionDetail; onDone: (message: string) => void }) {
  const { t } = useTranslation();
  const entityLabel = useEntityLabel();
  const approve = useApproveVersion(v.id);
  const reject = useRejectVersion(v.id);
  const vars = { version: v.version, object: v.object, entity: entityLabel(v.entity) };
  const activated = (close: () => void) =>
    approve.mutate(undefined, {
      onSuccess: (d) => {
        close();
        onDone(t('mappings.done.active', { version: d.version }));
      },
    });
  if (v.status === 'draft') {
    return (
      <>
        <ConfirmAction
          label={t('mappings.approveVersion')}
          title={t('mappings.confirm.approveTitle', vars)}
          description={t('mappings.confirm.approveBody', vars)}
          confirmLabel={t('mappings.confirm.approve')}
          pending={approve.isPending}
          error={approve.error}
          onOpen={() => approve.reset()}
          onConfirm={activated}
        />
        <ConfirmAction
          label={t('mappings.rejectVersion')}
          title={t('mappings.confirm.rejectTitle', vars)}
          description={t('mappings.confirm.rejectBody')}
          confirmLabel={t('mappings.confirm.reject')}
          variant="destructive"
          pending={reject.isPending}
          error={reject.error}
          onOpen={() => reject.reset()}
          onConfirm={(close) =>
            reject.mutate(undefined, {
              onSuccess: (d) => {
                close();
                onDone(t('mappings.done.rejected', { version: d.version }));
              },
            })
          }
        />
      </>
    );
  }
  if (v.status === 'retired') {
    return (
      <ConfirmAction
        label={t('mappings.reactivate')}
        title={t('mappings.confirm.reactivateTitle', vars)}
        description={t('mappings.confirm.reactivateBody', vars)}
        confirmLabel={t('mappings.confirm.reactivate')}
        pending={approve.isPending}
        error={approve.error}
        onOpen={() => approve.reset()}
        onConfirm={activated}
      />
    );
  }
  return null;
}

/** One version of a mapping: its rules to review and decide while it is a draft, its replay once active. */
export function VersionReview({ id }: { id: string }) {
  const { t } = useTranslation();
  const can = useCan();
  const entityLabel = useEntityLabel();
  const location = useLocation();
  const justProposed = Boolean((location.state as { proposed?: boolean } | null)?.proposed);
  const version = useMappingVersion(id);
  const decide = useDecide(id);
  const [pendingRule, setPendingRule] = React.useState<number | null>(null);
  const [rowErrors, setRowErrors] = React.useState<Record<number, RowErrors>>({});
  const [otherErrors, setOtherErrors] = React.useState<string[]>([]);
  const [decideError, setDecideError] = React.useState<unknown>(null);
  const [notice, setNotice] = React.useState<string | null>(null);
  const [status, setStatus] = React.useState<StatusFilter>('all');
  const [search, setSearch] = React.useState('');

  if (version.isPending) return <Loading />;
  if (version.error) return <ErrorMessage error={version.error} />;
  const v = version.data;
  const editable = v.status === 'draft' && can('provider:manage');
  const shown = filterRules(v.rules, status, search);

  const onDecide = (d: Decision, onSuccess?: () => void) => {
    setPendingRule(d.rule_id);
    setRowErrors(({ [d.rule_id]: _, ...rest }) => rest);
    setOtherErrors([]);
    setDecideError(null);
    setNotice(null);
    decide.mutate([d], {
      onSuccess: () => onSuccess?.(),
      onError: (err) => {
        const parsed = decisionErrors(t, err, [d.rule_id]);
        if (parsed) {
          setRowErrors((prev) => ({ ...prev, ...parsed.rows }));
          setOtherErrors(parsed.rest);
        } else {
          setDecideError(err);
          void version.refetch();
        }
      },
      onSettled: () => setPendingRule(null),
    });
  };

  return (
    <div className="flex flex-col gap-4">
      <PageHeader
        title={t('mappings.version.title', { object: v.object, entity: entityLabel(v.entity), version: v.version })}
        actions={can('provider:manage') ? <VersionActions v={v} onDone={setNotice} /> : null}
      >
        <Link to={objectPath(v.provider, v.object, v.entity)} className="text-sm text-blue-800 underline underline-offset-2">
          {t('mappings.version.back')}
        </Link>
      </PageHeader>
      <div aria-live="polite" className="flex flex-col gap-2">
        {justProposed && !notice ? (
          <Alert variant="info">{v.status === 'active' ? t('mappings.proposed.active') : t('mappings.proposed.draft')}</Alert>
        ) : null}
        {notice ? <Alert variant="success">{notice}</Alert> : null}
        <MappingError error={decideError} />
        {otherErrors.length > 0 ? <Alert>{otherErrors.join(' ')}</Alert> : null}
      </div>
      <Card>
        <CardHeader>
          <CardTitle>{t('mappings.version.details')}</CardTitle>
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          <Details v={v} />
          {v.status === 'active' && v.replay_run_id ? <ReplayPanel runId={v.replay_run_id} /> : null}
          {v.status === 'active' && !v.replay_run_id && awaitingReplay(v) ? (
            <p role="status" className="text-sm text-slate-700">{t('mappings.replay.starting')}</p>
          ) : null}
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>{t('mappings.rules.title')}</CardTitle>
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          <div className="flex flex-col gap-2 sm:flex-row sm:items-end">
            <div className="flex flex-col gap-1 sm:w-48">
              <Label htmlFor="rule-status">{t('mappings.filters.status')}</Label>
              <Select id="rule-status" value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
                {STATUS_FILTERS.map((s) => (
                  <option key={s} value={s}>
                    {s === 'all' ? t('mappings.filters.all') : t(`mappings.ruleStatus.${s}`)}
                  </option>
                ))}
              </Select>
            </div>
            <div className="flex flex-col gap-1 sm:w-64">
              <Label htmlFor="rule-search">{t('mappings.filters.search')}</Label>
              <Input
                id="rule-search"
                type="search"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
                placeholder={t('mappings.filters.searchPlaceholder')}
              />
            </div>
            <p className="text-xs text-slate-700 sm:ml-auto" aria-live="polite">
              {t('mappings.rules.shown', { shown: shown.length, total: v.rules.length })}
            </p>
          </div>
          {shown.length === 0 ? (
            <Empty>{t('mappings.rules.empty')}</Empty>
          ) : (
            <Table data-testid="rules">
              <THead>
                <TR>
                  <TH>{t('mappings.rules.source')}</TH>
                  <TH>{t('mappings.rules.samples')}</TH>
                  <TH>{t('mappings.rules.target')}</TH>
                  <TH>{t('mappings.rules.transform')}</TH>
                  <TH>{t('mappings.rules.confidence')}</TH>
                  <TH>{t('mappings.rules.reason')}</TH>
                  <TH>{t('mappings.rules.engine')}</TH>
                  <TH>{t('mappings.rules.status')}</TH>
                  {editable ? <TH>{t('mappings.rules.actions')}</TH> : null}
                </TR>
              </THead>
              <TBody>
                {shown.map((r) => (
                  <RuleRow
                    key={r.id}
                    rule={r}
                    entity={v.entity}
                    editable={editable}
                    busy={pendingRule !== null}
                    errors={rowErrors[r.id]}
                    onDecide={onDecide}
                  />
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
    </div>
  );
}
