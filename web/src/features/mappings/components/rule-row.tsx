import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Select } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { TD, TR } from '@/components/ui/table';
import type { Decision, Rule } from '../api';
import type { RowErrors } from '../errors';
import { CANONICAL_TARGETS, TRANSFORMS } from '../targets';
import { Confidence, EngineBadge, RuleStatus } from './labels';

/** The select value standing for "no target: keep the field in the row's extras". */
const EXTRAS = '__extras__';
const SAMPLES_SHOWN = 3;
const SAMPLE_LENGTH = 40;

function truncate(s: string): string {
  return s.length > SAMPLE_LENGTH ? `${s.slice(0, SAMPLE_LENGTH - 1)}…` : s;
}

function Samples({ samples }: { samples: string[] }) {
  const { t } = useTranslation();
  if (samples.length === 0) return <span className="text-xs italic text-slate-700">{t('mappings.rules.noSamples')}</span>;
  const more = samples.length - SAMPLES_SHOWN;
  return (
    <ul className="flex max-w-56 flex-col gap-0.5 text-xs">
      {samples.slice(0, SAMPLES_SHOWN).map((s, i) => (
        <li key={i} className="truncate font-mono" title={s}>
          {truncate(s)}
        </li>
      ))}
      {more > 0 ? <li className="text-slate-700">{t('mappings.rules.moreSamples', { count: more })}</li> : null}
    </ul>
  );
}

function Messages({ id, messages }: { id?: string; messages: string[] }) {
  if (messages.length === 0) return null;
  return (
    <p id={id} role="alert" className="mt-1 text-xs font-medium text-red-700" data-field-error>
      {messages.join(' ')}
    </p>
  );
}

export function TargetText({ rule }: { rule: Pick<Rule, 'target_field' | 'transform'> }) {
  const { t } = useTranslation();
  if (rule.target_field) return <code className="text-xs">{rule.target_field}</code>;
  return <span className="text-xs italic text-slate-700">{rule.transform === 'ignore' ? t('mappings.ignored') : t('mappings.keptInExtras')}</span>;
}

/**
 * One rule of a version. A draft's rules take decisions here: approve, reject, or change
 * the target (and transform), each sent alone; a refusal shows on the row.
 */
export function RuleRow({
  rule,
  entity,
  editable,
  busy,
  errors,
  onDecide,
}: {
  rule: Rule;
  entity: string;
  editable: boolean;
  busy: boolean;
  errors?: RowErrors;
  onDecide: (decision: Decision, onSuccess?: () => void) => void;
}) {
  const { t } = useTranslation();
  const [editing, setEditing] = React.useState(false);
  const [target, setTarget] = React.useState(rule.target_field ?? EXTRAS);
  const [transform, setTransform] = React.useState('');
  const field = rule.source_field;
  const base = `rule-${rule.id}`;
  const targets = CANONICAL_TARGETS[entity] ?? [];
  const options = rule.target_field && !targets.includes(rule.target_field) ? [rule.target_field, ...targets] : targets;
  const targetErrors = errors?.target ?? [];
  const transformErrors = errors?.transform ?? [];

  const startEditing = () => {
    setTarget(rule.target_field ?? EXTRAS);
    setTransform('');
    setEditing(true);
  };
  const save = () =>
    onDecide(
      {
        rule_id: rule.id,
        status: 'approved',
        target_field: target === EXTRAS ? null : target,
        ...(transform ? { transform } : {}),
      },
      () => setEditing(false),
    );

  return (
    <TR data-testid={base} data-status={rule.status}>
      <TD>
        <span className="block font-mono text-xs font-semibold">{field}</span>
        {rule.source_label ? <span className="block text-sm">{rule.source_label}</span> : null}
        {rule.source_type ? <span className="block text-xs text-slate-700">{rule.source_type}</span> : null}
      </TD>
      <TD>
        <Samples samples={rule.samples} />
      </TD>
      <TD>
        {editing ? (
          <div className="flex min-w-40 flex-col gap-1">
            <Label htmlFor={`${base}-target`} className="text-xs">{t('mappings.targetOf', { field })}</Label>
            <Select
              id={`${base}-target`}
              value={target}
              onChange={(e) => setTarget(e.target.value)}
              aria-invalid={targetErrors.length > 0}
              aria-describedby={targetErrors.length > 0 ? `${base}-target-error` : undefined}
            >
              <option value={EXTRAS}>{t('mappings.keptInExtras')}</option>
              {options.map((o) => (
                <option key={o} value={o}>{o}</option>
              ))}
            </Select>
          </div>
        ) : (
          <TargetText rule={rule} />
        )}
        <Messages id={`${base}-target-error`} messages={targetErrors} />
      </TD>
      <TD>
        {editing ? (
          <div className="flex min-w-40 flex-col gap-1">
            <Label htmlFor={`${base}-transform`} className="text-xs">{t('mappings.transformOf', { field })}</Label>
            <Select
              id={`${base}-transform`}
              value={transform}
              onChange={(e) => setTransform(e.target.value)}
              aria-invalid={transformErrors.length > 0}
              aria-describedby={transformErrors.length > 0 ? `${base}-transform-error` : undefined}
            >
              <option value="">{t('mappings.keepTransform')} ({t(`mappings.transforms.${rule.transform}`, { defaultValue: rule.transform })})</option>
              {TRANSFORMS.map((x) => (
                <option key={x} value={x}>{t(`mappings.transforms.${x}`)}</option>
              ))}
            </Select>
          </div>
        ) : (
          <span className="text-xs">{t(`mappings.transforms.${rule.transform}`, { defaultValue: rule.transform })}</span>
        )}
        <Messages id={`${base}-transform-error`} messages={transformErrors} />
      </TD>
      <TD>
        <Confidence value={rule.confidence} />
      </TD>
      <TD className="max-w-64 text-xs">{rule.reason}</TD>
      <TD>
        <EngineBadge engine={rule.engine} />
      </TD>
      <TD>
        <RuleStatus status={rule.status} />
      </TD>
      {editable ? (
        <TD>
          <div className="flex flex-wrap gap-1">
            {editing ? (
              <>
                <Button size="sm" onClick={save} disabled={busy} aria-label={t('mappings.saveNamed', { field })}>
                  {t('mappings.save')}
                </Button>
                <Button size="sm" variant="outline" onClick={() => setEditing(false)} disabled={busy} aria-label={t('mappings.cancelNamed', { field })}>
                  {t('common.cancel')}
                </Button>
              </>
            ) : (
              <>
                {rule.status !== 'approved' ? (
                  <Button
                    size="sm"
                    variant="outline"
                    onClick={() => onDecide({ rule_id: rule.id, status: 'approved' })}
                    disabled={busy}
                    aria-label={t('mappings.approveRuleNamed', { field })}
                  >
                    {t('mappings.approveRule')}
                  </Button>
                ) : null}
                {rule.status !== 'rejected' ? (
                  <Button
                    size="sm"
                    variant="outline"
                    onClick={() => onDecide({ rule_id: rule.id, status: 'rejected' })}
                    disabled={busy}
                    aria-label={t('mappings.rejectRuleNamed', { field })}
                  >
                    {t('mappings.rejectRule')}
                  </Button>
                ) : null}
                <Button size="sm" variant="ghost" onClick={startEditing} disabled={busy} aria-label={t('mappings.changeNamed', { field })}>
                  {t('mappings.change')}
                </Button>
              </>
            )}
          </div>
          <Messages messages={errors?.other ?? []} />
        </TD>
      ) : null}
    </TR>
  );
}
