import { Link, Route, Routes, useNavigate, useParams, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { NotFound, PageHeader } from '@/components/page';
import { MAPPED_OBJECTS, objectPath } from './targets';
import { ObjectPicker } from './components/object-picker';
import { ObjectMappings } from './components/object-mappings';
import { VersionReview } from './components/version-review';

/** `/integrations/mappings[/:provider/:object?entity=]`: the object picker, then that object's mapping. */
function MappingsPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { provider, object } = useParams();
  const [params] = useSearchParams();
  // An object feeding several entities shows its first one unless `entity` names another.
  const entity =
    params.get('entity') ?? MAPPED_OBJECTS.find((m) => m.provider === provider && m.object === object)?.entity ?? null;
  const chosen = provider && object ? { provider, object, entity: entity ?? '' } : null;
  return (
    <div className="flex flex-col gap-4">
      <PageHeader title={t('mappings.title')}>
        <p className="max-w-3xl text-sm text-slate-700">{t('mappings.intro')}</p>
        <Link to="/integrations" className="text-sm text-blue-800 underline underline-offset-2">
          {t('mappings.backToIntegrations')}
        </Link>
      </PageHeader>
      <ObjectPicker value={chosen} onChange={(m) => navigate(objectPath(m.provider, m.object, m.entity))} />
      {provider && object ? (
        <ObjectMappings key={`${provider}|${object}|${entity ?? ''}`} provider={provider} object={object} entity={entity} />
      ) : (
        <p className="text-sm text-slate-700">{t('mappings.pickHint')}</p>
      )}
    </div>
  );
}

function VersionPage() {
  const { id } = useParams();
  return <VersionReview key={id} id={id ?? ''} />;
}

/** Mounted at `/integrations/mappings/*`. */
export default function MappingsRoutes() {
  return (
    <Routes>
      <Route index element={<MappingsPage />} />
      <Route path="versions/:id" element={<VersionPage />} />
      <Route path=":provider/:object" element={<MappingsPage />} />
      <Route path="*" element={<NotFound />} />
    </Routes>
  );
}
