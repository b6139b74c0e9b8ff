import { useTranslation } from 'react-i18next';
import { Select } from '@/components/ui/input';
import { FormField } from '@/components/form-field';
import { MAPPED_OBJECTS, type MappedObject } from '../targets';
import { useEntityLabel } from './labels';

const key = (m: MappedObject) => `${m.provider}|${m.object}|${m.entity}`;

/** Chooses one of the mapped (object, entity) pairs. */
export function ObjectPicker({ value, onChange }: { value: MappedObject | null; onChange: (m: MappedObject) => void }) {
  const { t } = useTranslation();
  const entityLabel = useEntityLabel();
  const current = value ? MAPPED_OBJECTS.find((m) => key(m) === key(value)) : undefined;
  return (
    <FormField id="mapping-object" label={t('mappings.object')} className="sm:w-96">
      {(a) => (
        <Select
          {...a}
          value={current ? key(current) : ''}
          onChange={(e) => {
            const m = MAPPED_OBJECTS.find((x) => key(x) === e.target.value);
            if (m) onChange(m);
          }}
        >
          {current ? null : <option value="">{t('mappings.chooseObject')}</option>}
          {MAPPED_OBJECTS.map((m) => (
            <option key={key(m)} value={key(m)}>
              {t('mappings.objectOption', { provider: m.provider, object: m.object, entity: entityLabel(m.entity) })}
            </option>
          ))}
        </Select>
      )}
    </FormField>
  );
}
