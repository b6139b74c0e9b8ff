import { useTranslation } from 'react-i18next';
import { useQueryClient } from '@tanstack/react-query';
import { LANGUAGES, setLanguage, type Language } from '@/lib/i18n';

/** FR/EN switch; data is refetched so server-formatted labels follow the language. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  return (
    <div role="group" aria-label={t('header.language')} className="flex rounded-md border border-slate-300 bg-white p-0.5">
      {LANGUAGES.map((lang: Language) => (
        <button
          key={lang}
          type="button"
          lang={lang}
          aria-pressed={i18n.language === lang}
          onClick={() => {
            void setLanguage(lang).then(() => queryClient.invalidateQueries());
          }}
          className="rounded px-2 py-0.5 text-xs font-semibold uppercase text-slate-800 aria-pressed:bg-blue-700 aria-pressed:text-white focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-blue-600"
        >
          <span aria-hidden>{lang}</span>
          <span className="sr-only">{t(`languages.${lang}`)}</span>
        </button>
      ))}
    </div>
  );
}
