"""The categories of axis stories the tagger missed on real text, and of the look-alikes it took
for axis stories, each in the five languages: headlines and ledes written for these tests in the
style of the wires, portals and state media that report them."""

import pytest

from transform.tagging import Tagger
from transform.terms import Term, TermMatcher, tokenize


@pytest.fixture(scope="module")
def tagger():
    from conftest import ROOT

    return Tagger.from_file(ROOT / "config/topics.yaml")


AXIS = {
    # Leaders meeting, calling, writing, visiting: verbs of contact, places of meeting.
    "meeting": [
        ("en", "Kim Jong Un receives Shoigu in Pyongyang", "The two discussed the situation in Kursk."),
        ("en", "Russia's Shoigu hands Kim a message from Putin", "The two met in Pyongyang."),
        ("ru", "Лавров прилетел в Вонсан", "Глава МИД России проведет переговоры с Чвэ Сон Хи."),
        ("ru", "Шойгу вручил Ким Чен Ыну послание Путина", "Встреча прошла в Пхеньяне."),
        ("ru", "Путин провел телефонный разговор с Ким Чен Ыном", "Стороны обменялись мнениями, сообщили в Кремле."),
        ("ko", "김정은, 블라디보스토크行 전용열차 탑승", "푸틴 대통령과의 정상회담이 예상된다."),
        ("ko", "라브로프, 원산서 최선희와 회담", "러 외무장관은 갈마 해안관광지구를 찾았다."),
        ("ko", "北 조선중앙통신 \"김정은·푸틴 전화 통화\"", "두 정상은 \"자주 만나자\"고 말했다."),
        ("uk", "Кім Чен Ин прийняв Шойгу в Пхеньяні", "Сторони обговорили ситуацію на Курщині."),
        ("pl", "Ławrow przyleciał do Korei Północnej", "Szef rosyjskiej dyplomacji spotka się z Kim Dzong Unem."),
        ("pl", "Szojgu znów w Pjongjangu. Rozmowy z Kimem", "To już kolejna wizyta."),
        # Transcriptions of a name vary: Чвэ, Чве, Чхве, Цой Сон Хи.
        ("ru", "Чвэ Сон Хи встретилась с Путиным", "Встреча прошла в Кремле."),
        ("uk", "Чвє Сон Хі прибула до Москви", "Вона зустрінеться з Лавровим."),
    ],
    # Anniversaries, parades, memorials, embassy visits.
    "commemoration": [
        ("en", "Kim Jong Un visits Russian embassy on Victory Day", "He congratulated the ambassador."),
        ("ru", "Северокорейские военные примут участие в параде на Красной площади", "Об этом сообщили в Минобороны."),
        ("ru", "Белоусов прибыл в Пхеньян на празднование годовщины Победы", "Министр обороны России возложил венок к монументу."),
        ("ko", "쇼이구, 북 전승절 70주년 열병식 참석", "김정은 위원장과 나란히 섰다."),
        ("ko", "김정은, 러 대사관 찾아 전승절 축하", "마체고라 대사가 영접했다."),
        ("uk", "Кім Чен Ин відвідав посольство росії в Пхеньяні", "Він привітав дипломатів з Днем Перемоги."),
        ("pl", "Kim Dzong Un odwiedził ambasadę Rosji w Pjongjangu", "Złożył życzenia z okazji Dnia Zwycięstwa."),
    ],
    # North Korean workers, builders and deminers in Russia.
    "workers": [
        ("en", "North Korean deminers arrive in Kursk", "Russian state TV showed them at work."),
        ("ru", "КНДР направит в Курскую область тысячу саперов и пять тысяч военных строителей", "Об этом сообщил Шойгу."),
        ("ko", "북한 노동자 수천명, 러 건설현장 투입", "국정원은 유학생 비자로 입국했다고 밝혔다."),
        ("uk", "Тисячі північнокорейців працюють на будовах росії", "Їх завозять за студентськими візами."),
        ("pl", "Korea Północna wyśle do obwodu kurskiego tysiąc saperów", "Pjongjang wyśle też pięć tysięcy budowniczych."),
    ],
    # South Koreans fighting for Ukraine, and their trials at home.
    "volunteers": [
        ("en", "South Korean who fought for Ukraine indicted for violating passport law", "Prosecutors say he entered without permission."),
        ("ko", "우크라 참전 한국인, 귀국 후 입건", "경찰은 여권법 위반 혐의를 적용했다."),
        ("ru", "Бывший спецназовец из Южной Кореи воевал на стороне ВСУ", "Теперь ему грозит суд."),
        ("uk", "Південнокорейського добровольця, який воював за Україну, судитимуть удома", "Йому загрожує покарання."),
        ("pl", "Ochotnik z Korei Południowej walczył za Ukrainę. Teraz grozi mu proces", "Wjechał bez zgody rządu w Seulu."),
    ],
    # Pyongyang's statements and state-media commentary on the war: the headline names North
    # Korea speaking, the lede or body what it speaks about.
    "state_media": [
        ("en", "Press Statement of Minister of National Defence of DPRK",
         "The puppet Zelenskiy clique of Ukraine perpetrated a brutal atrocity again by killing citizens of Russia."),
        ("en", "KCNA commentary slams Washington", "The Ukraine war is prolonged by US arms deliveries, it said."),
        ("ko", "北 국방상 담화 \"괴뢰 도당의 만행\"", "젤렌스키 정권이 러시아 민간인을 살해했다고 주장했다."),
        ("ru", "ЦТАК опубликовало комментарий о политике Вашингтона", "Агентство назвало поставки оружия Киеву причиной затягивания войны."),
        ("uk", "КНДР оприлюднила заяву", "Пхеньян звинуватив США у затягуванні війни в Україні."),
        ("pl", "Oświadczenie ministra obrony Korei Północnej", "Reżim w Kijowie zabija cywilów w Rosji, twierdzi Phenian."),
        # A headline quoting its speaker says who speaks; the lede says about what.
        ("ko", "국정원 \"북한군 사상자 4천명\"", "쿠르스크 전선에서 피해가 컸다."),
        ("ru", "ЦТАК: «Вашингтон затягивает войну»", "Агентство назвало поставки оружия Киеву преступлением."),
        ("uk", "Кім Йо Чжон: «Ми будемо з братами до кінця»", "Вона пообіцяла підтримку росії у війні."),
        ("pl", "Kim Jo Dzong: „Będziemy z braćmi do końca”", "Obiecała wsparcie dla Rosji w wojnie."),
    ],
    # China's distance from the Russia-North Korea alignment; enumerations saying the countries
    # act together.
    "alignment": [
        ("en", "Why China, Russia, and North Korea joining forces isn't a prelude to war", "Experts see diplomatic signalling."),
        ("en", "Xi keeps Kim at arm's length as Pyongyang cosies up to Moscow", "China has been silent on the troop deployment."),
        ("ko", "북·중·러 밀착 가속", "3국 정상이 베이징에서 만났다."),
        ("ru", "Китай, Россия и КНДР сближаются: что это значит для Азии", "Эксперты оценивают последствия."),
        ("uk", "Китай, росія та КНДР зближуються: що це означає для Азії", "Аналітики попереджають про загрозу."),
        ("pl", "Chiny, Rosja i Korea Północna zbliżają się do siebie", "Eksperci ostrzegają."),
    ],
    # Korean abbreviations as words and inside compounds.
    "korean_abbreviations": [
        ("ko", "러·우 종전 협상에 北 변수", "북 파병 병력 철수 문제가 거론된다."),
        ("ko", "북, 러에 포탄 수백만발 넘겨", "국정원 분석"),
        ("ko", "정부, 주한 러시아 대사 초치", "북한군 파병에 항의했다."),
        ("ko", "對러 제재 강화…北 파병 대응", "정부가 추가 제재 방안을 발표했다."),
    ],
    # Agencies and ruling-party bodies of North Korea that stand for it.
    "state_bodies": [
        ("ko", "미 재무부, 고려항공무역회사·러 은행 제재", "북한인 1명도 제재 목록에 올랐다."),
        ("en", "US sanctions Air Koryo trading arm and Russian banks", "Treasury said the firms helped arms deals."),
    ],
    # Word forms a stem missed: Polish writes Ukraine's adjective and people with ń (ukraiński,
    # Ukraińcy); Ukrainian declines Харків with о (Харкова, Харкову).
    "word_forms": [
        ("pl", "Ukraińcy pojmali północnokoreańskich żołnierzy pod Kurskiem", "To kolejni jeńcy z KRLD."),
        ("pl", "Ukraińskie drony zaatakowały pozycje wojsk z Korei Północnej", "Atak nastąpił w obwodzie kurskim."),
        ("uk", "Під Харковом знайшли уламки північнокорейської ракети", "Експерти встановили її походження."),
    ],
    # Services, vetoes and weapons that name their side: Ukraine's SBU, the veto that ended the UN
    # panel watching sanctions on Pyongyang, missiles only North Korea makes.
    "named_by_what_they_do": [
        ("ru", "СБУ показала допрос пленных солдат из КНДР", "Военные рассказали о боях."),
        ("en", "SBU releases interrogation of captured North Korean soldiers", "The two were taken prisoner in January."),
        ("en", "Russia vetoes renewal of UN panel monitoring North Korea sanctions", "The panel had reported on arms transfers."),
        ("uk", "Росія заблокувала вето продовження мандату групи експертів ООН щодо КНДР", "Група стежила за санкціями."),
        ("uk", "Уламки ракети KN-23 знайшли після удару по Києву", "Прокуратура розслідує обстріл."),
        ("pl", "Koreańczycy z Północy walczą w obwodzie kurskim, twierdzi Kijów", "Wywiad mówi o tysiącach żołnierzy."),
    ],
    # Prisoners of war: only the war takes North Korean soldiers prisoner, so captivity names the
    # war side ("POWs from the DPRK ask to go to Seoul") even where no country of the war is named.
    "captivity": [
        ("en", "Captured North Korean soldiers say they want to defect to South Korea", "Both men are being held in a camp near Lviv."),
        ("ko", "北 포로 2명 \"한국행 원한다\"", "이들은 귀순 의사를 밝혔다."),
        ("ru", "Пленные северокорейские солдаты попросили отправить их в Сеул", "Об этом сообщил омбудсмен."),
        ("uk", "Військовополонені з КНДР хочуть потрапити до Південної Кореї", "Їх утримують у таборі на заході країни."),
        ("pl", "Jeńcy z KRLD proszą o azyl w Korei Południowej", "Przebywają w obozie na zachodzie kraju."),
        ("uk", "Колишній офіцер КНДР допоможе з допитами полонених", "Він розуміє їхній діалект."),
    ],
    # Sanctions and accusations "for taking part in the war": the war is Russia's in Ukraine.
    "taking_part_in_the_war": [
        ("en", "EU blacklists North Korean commanders for their part in the war", "The list also names two shipping firms."),
        ("ko", "EU, 北 장성 6명 제재…\"전쟁에 가담\"", "제재 명단에는 해운사 2곳도 포함됐다."),
        ("ru", "Британия ввела санкции против генералов КНДР за участие в войне", "В список также вошли две судоходные компании."),
        ("uk", "Японія запровадила санкції проти командирів КНДР за участь у бойових діях", "До списку також потрапили судноплавні компанії."),
        ("pl", "Kanada nakłada sankcje na generałów KRLD za udział w wojnie", "Na liście są też dwie firmy żeglugowe."),
    ],
    # Places on the North Korean-Russian border and in the Russian Far East, and North Korean ports.
    "border_places": [
        ("en", "North Korean leader's armoured train crosses the border at Khasan", "A summit is expected later this week."),
        ("en", "Treasury sanctions ships carrying Russian oil to Nampo", "The tankers loaded at a Far Eastern port."),
        ("ko", "北 노동자 수천명 연해주 건설현장 투입", "유학생 비자로 입국했다."),
        ("ru", "Бронепоезд лидера КНДР прошёл через Хасан", "Встречу на высшем уровне готовят в Приморье."),
        ("uk", "Тисячі робітників з КНДР працюють на будовах Приморського краю", "Їх оформлюють як студентів."),
        ("pl", "Pociąg przywódcy KRLD przekroczył granicę w Chasanie", "Przywódca jedzie na szczyt."),
    ],
    # Ministers, commanders and services that stand for their country.
    "ministers_and_services": [
        ("en", "Umerov holds talks in Seoul on North Korean troops", "He met the head of the National Intelligence Service."),
        ("ko", "시르스키 \"북한군, 전선에서 돌격 전술 바꿔\"", "총사령관은 병력 손실이 크다고 밝혔다."),
        ("ru", "Герасимов поблагодарил командиров КНДР", "Начальник Генштаба вручил им награды."),
        ("uk", "ГУР: КНДР готує ще 6 тисяч військових", "Їх відправлять на навчання."),
        ("uk", "ССО знищили позиції північнокорейців", "Удар завдали дронами."),
        ("pl", "Umierow w Seulu rozmawiał o żołnierzach KRLD", "Spotkał się z prezydentem."),
    ],
    # "Our Korean friends": the Kremlin's name for North Korea.
    "korean_friends": [
        ("en", "Kremlin hosts gala dinner for Korean comrades", "Putin toasted unbreakable friendship."),
        ("ru", "Путин принял корейских друзей в Кремле", "Президент вручил гостям ордена."),
        ("uk", "Кремль влаштував прийом для корейських друзів", "Путін підняв тост за дружбу."),
        ("pl", "Kreml przyjął koreańskich towarzyszy", "Putin wzniósł toast za przyjaźń."),
    ],
    # Tourists, flights and trade between North Korea and Russia are the alignment.
    "north_korea_civil_ties": [
        ("en", "Russian tourists return to North Korea's Wonsan resort", "The tours started after the treaty."),
        ("ko", "러시아 관광객, 北 원산 해안관광지구 방문", "조약 이후 교류가 늘었다."),
        ("ru", "Российские туристы вновь едут в КНДР", "Туры возобновились после договора."),
        ("uk", "Російські туристи знову їдуть до КНДР", "Тури відновили після підписання договору."),
        ("pl", "Rosyjscy turyści znów jadą do Korei Północnej", "Wycieczki wznowiono po podpisaniu traktatu."),
    ],
}

NOT_AXIS = {
    # Enumerations of leaders or adversaries in somebody else's politics.
    "lists": [
        ("en", "Trump says he gets along with Putin, Kim and Xi", "The former president spoke at a rally in Ohio."),
        ("en", "Pro-Pence super PAC hits Trump for praise of Putin, Kim Jong Un", "The group launched a new TV ad."),
        ("ru", "Трамп похвалил Путина, Ким Чен Ына и Си Цзиньпина", "Экс-президент выступил на митинге."),
        ("ko", "트럼프 \"푸틴·김정은·시진핑과 잘 지내\"", "유세에서 발언했다."),
        ("uk", "НАТО: Китай, росія, Іран і КНДР загрожують безпеці", "Генсек закликав збільшити витрати на оборону."),
        ("pl", "Trump chwali Putina, Kima i Xi Jinpinga", "Były prezydent mówił na wiecu w Ohio."),
        # A bloc or an alliance acting on the list does not make the list an alignment.
        ("en", "Western bloc widens sanctions on China, Russia, Iran and North Korea", "The measures target banks."),
        ("pl", "Sojusz NATO ostrzega przed Chinami, Rosją, Iranem i Koreą Północną", "Sekretarz generalny przemawiał w Brukseli."),
        ("ru", "Североатлантический альянс назвал угрозами Китай, Россию, Иран и КНДР", "Заявление принято на саммите."),
    ],
    # "A Ukrainian official", "a Russian outlet": 한 is "a", not Korea.
    "korean_one_syllable": [
        ("ko", "우크라이나, 러시아 정유시설 드론 공격", "한 우크라이나 관리는 이번 공격이 러시아 군수 보급을 겨냥했다고 말했다."),
        ("ko", "러시아, 우크라이나 에너지 시설 공습", "한 러시아 매체는 미사일 수십 발이 발사됐다고 전했다."),
    ],
    # Korea's armistice as a model for Ukraine.
    "korean_model": [
        ("en", "Zelensky rejects a Korean-style armistice for Ukraine", "South Korea has US troops on its soil, he noted."),
        ("ko", "젤렌스키 \"한국식 휴전 가능하지만 안보 보장 부족\"", "그는 \"한국에는 동맹국 미국이 있다\"며 우크라이나와 다르다고 말했다."),
        ("ru", "Корейский сценарий для Украины: что это значит", "Южная Корея живет без мирного договора 70 лет."),
        ("uk", "Корейський сценарій для України: що це означає", "Експерти пояснюють, як працює перемир'я в Кореї."),
        ("pl", "Koreański scenariusz dla Ukrainy? Zełenski: to nie dla nas", "Korea Południowa ma gwarancje USA, podkreślił."),
    ],
    # Poland buying Korean arms because of the war: Korea and Poland, not Korea and the war.
    "poland_buys_korean_arms": [
        ("pl", "Polska kupuje kolejne czołgi z Korei Południowej. Powodem wojna w Ukrainie", "Umowa jest warta 6,5 mld dolarów."),
        ("en", "Polish army receives more K2 tanks from South Korea amid Russian threat", "The tanks arrived in Gdynia."),
        ("ru", "Польша закупит у Южной Кореи танки K2 на фоне войны на Украине", "Сделка оценивается в 6,5 млрд долларов."),
        ("uk", "Польща купує південнокорейські гаубиці через війну в Україні", "Угода оцінюється у мільярди доларів."),
        ("ko", "폴란드, 우크라이나 전쟁에 K2 전차 180대 추가 도입", "계약 규모는 65억 달러다."),
    ],
    # A speaker's headline over a lede about something else, or about a third country as well.
    "speech_elsewhere": [
        ("en", "North Korea slams US-South Korea drills as rehearsal for invasion",
         "KCNA said the drills threaten peace. Russia and China have also criticised the exercises."),
        ("ko", "北 외무성 담화 \"한미연합훈련은 침략 연습\"", "러시아도 우려를 표명했다."),
        ("ru", "МИД КНДР осудил учения США и Южной Кореи", "Тем временем в России прошли выборы."),
    ],
    # Hackers, concerts and tourists: both sides named, no link between the states.
    "other_subjects": [
        ("en", "North Korean hackers stole crypto from Russian exchange", "Investigators traced the funds."),
        ("ru", "Южнокорейский оркестр выступил в Москве", "Концерт прошел с аншлагом."),
        ("ko", "한 러시아 관광객, 제주서 실종", "경찰이 수색 중이다."),
        ("uk", "Північнокорейські хакери зламали російське ракетне підприємство", "Дослідники виявили шкідливе програмне забезпечення."),
        ("pl", "Rosyjski balet wystąpi w Seulu mimo wojny w Ukrainie", "Ukraińscy dyplomaci protestują."),
    ],
    # Demining aid, farm talks, flights, reconstruction contracts: ordinary ties between South
    # Korea and Ukraine or Russia, not the war's alignment.
    "south_korea_civil_ties": [
        ("en", "South Korea pledges $15 million for demining Ukrainian farmland", "The money will buy clearance machines."),
        ("en", "Seoul and Kyiv discuss grain and agricultural cooperation", "The ministers agreed on joint research."),
        ("ko", "한국·우크라이나, 곡물 협력 양해각서 체결", "양국 농업 장관이 서명했다."),
        ("ko", "韓·러 직항 노선 재개 논의", "정부는 결정된 바 없다고 밝혔다."),
        ("ru", "Южная Корея выделит Украине $15 млн на разминирование", "Средства пойдут на закупку техники."),
        ("ru", "Москва и Сеул обсудили возобновление прямых авиарейсов", "В МИД Кореи переговоры опровергли."),
        ("uk", "Південна Корея виділить Україні кошти на розмінування полів", "Гроші підуть на техніку."),
        ("uk", "Київ і Сеул обговорили співпрацю в аграрній галузі", "Сторони домовилися про спільні дослідження."),
        ("pl", "Korea Południowa przekaże Ukrainie sprzęt do rozminowania pól", "Chodzi o maszyny rolnicze."),
        ("pl", "Kijów i Seul rozmawiały o współpracy rolniczej", "Ministrowie uzgodnili wspólne badania."),
    ],
}


@pytest.mark.parametrize("lang,title,summary", [c for cases in AXIS.values() for c in cases],
                         ids=[f"{k}-{c[0]}-{i}" for k, cases in AXIS.items() for i, c in enumerate(cases)])
def test_axis_categories(tagger, lang, title, summary):
    tag = tagger.tag("x", title, "", summary, lang)
    assert tag.is_axis, (tag.score, tag.matches)
    assert {"north_korea", "south_korea"} & set(tag.countries) and {"russia", "ukraine"} & set(tag.countries)


@pytest.mark.parametrize("lang,title,summary", [c for cases in NOT_AXIS.values() for c in cases],
                         ids=[f"{k}-{c[0]}-{i}" for k, cases in NOT_AXIS.items() for i, c in enumerate(cases)])
def test_look_alike_categories(tagger, lang, title, summary):
    tag = tagger.tag("x", title, "", summary, lang)
    assert not tag.is_axis, (tag.score, tag.matches)


def _concepts(matcher: TermMatcher, text: str) -> set[str]:
    return {hit.term.concept for hit in matcher.find(tokenize(text))}


def test_one_syllable_korean_abbreviations_are_whole_words():
    matcher = TermMatcher([Term.parse(t, c) for t, c in
                           (("한·우", "korea_ukraine"), ("북", "north_korea"), ("러*", "russia"), ("러·우", "war"))])
    assert _concepts(matcher, "한·우 정상회담") == {"korea_ukraine"}
    assert _concepts(matcher, "한·우의 협력") == {"korea_ukraine"}
    assert _concepts(matcher, "한국, 우크라이나 외교장관") == set()
    assert _concepts(matcher, "한 우크라이나 관리는") == set()
    assert _concepts(matcher, "북은 러에 포탄을") == {"north_korea", "russia"}
    assert _concepts(matcher, "북미 정상회담, 북극 항로, 북부 지방") == set()
    assert _concepts(matcher, "러·우 전쟁") == {"russia", "war"}
    assert _concepts(matcher, "러시아군") == {"russia"}  # written as a stem


def test_a_security_service_is_ukraine_s_only_by_its_own_name(tagger):
    """Korean writes Russia's FSB 연방보안국 ("federal security bureau"): only SBU names Ukraine's."""
    fsb = tagger.tag("f", "러시아 연방보안국, 북한 공작원 체포", "", "", "ko")
    sbu = tagger.tag("s", "우크라이나 보안국(SBU), 북한군 포로 심문 영상 공개", "", "", "ko")
    assert "ukraine" not in fsb.countries and "ukraine" in sbu.countries


def test_a_civil_tie_with_a_war_topic_is_still_the_war(tagger):
    """Reconstruction or flights next to arms, troops or sanctions are about the war after all; a
    civil word beside South Korea alone is not."""
    arms = tagger.tag("a", "Seoul weighs reconstruction aid and artillery shells for Kyiv", "", "", "en")
    sanctions = tagger.tag("s", "Южная Корея приостановила рейсы в Россию из-за санкций", "", "", "ru")
    aid = tagger.tag("r", "Seoul pledges reconstruction aid for Kyiv", "", "", "en")
    assert arms.is_axis and sanctions.is_axis and not aid.is_axis
