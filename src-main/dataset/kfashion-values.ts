/**
 * K-Fashion's published attribute values (from the label specification and real files; see
 * shared/data/kfashion-vocab.json). The vocabulary puts them first, in this order, so that a checkpoint's
 * embedding rows mean the same thing whichever sample of the dataset it was trained on.
 */
import type { FieldName } from '../../src-shared/fields.ts';

const STYLES = [
  '레트로', '로맨틱', '리조트', '매니시', '모던', '밀리터리', '섹시', '소피스트케이티드', '스트리트', '스포티',
  '아방가르드', '오리엔탈', '웨스턴', '젠더리스', '컨트리', '클래식', '키치', '톰보이', '펑크', '페미닌',
  '프레피', '히피', '힙합',
] as const;

const COLORS = [
  '골드', '그레이', '그린', '네온', '네이비', '라벤더', '레드', '민트', '베이지', '브라운', '블랙', '블루',
  '스카이블루', '실버', '옐로우', '오렌지', '와인', '카키', '퍼플', '핑크', '화이트',
];

export const KFASHION_STYLES: readonly string[] = STYLES;

/** Style folders: the 23 styles plus 기타 (images without a style label). */
export const KFASHION_STYLE_FOLDERS: readonly string[] = [...STYLES, '기타'];

export const CATEGORIES_BY_PART = {
  상의: ['탑', '블라우스', '티셔츠', '니트웨어', '셔츠', '브라탑', '후드티'],
  하의: ['청바지', '팬츠', '스커트', '래깅스', '조거팬츠'],
  아우터: ['코트', '재킷', '점퍼', '패딩', '베스트', '가디건', '짚업'],
  원피스: ['드레스', '점프수트'],
} as const;

export const KNOWN_VALUES: Readonly<Record<FieldName, readonly string[]>> = {
  category: Object.values(CATEGORIES_BY_PART).flat(),
  style: STYLES,
  silhouette: ['노멀', '루즈', '오버사이즈', '스키니', '와이드', '타이트', '벨보텀'],
  material: [
    '우븐', '울/캐시미어', '니트', '저지', '데님', '트위드', '린넨', '시폰', '퍼', '실크', '자카드', '가죽',
    '스판덱스', '플리스', '코듀로이', '패딩', '레이스', '스웨이드', '헤어 니트', '벨벳', '네오프렌', '메시',
    '무스탕', '비닐/PVC', '시퀸/글리터', '앙고라', '합성섬유', '면',
  ],
  detail: [
    'X스트랩', '글리터', '니트꽈베기', '단추', '더블브레스티드', '드롭숄더', '드롭웨이스트', '디스트로이드', '띠',
    '러플', '레이스', '레이스업', '롤업', '리본', '버클', '비대칭', '비즈', '셔링', '스터드', '스트링', '스티치',
    '스팽글', '슬릿', '싱글브레스티드', '자수', '지퍼', '체인', '컷아웃', '퀄팅', '태슬', '패치워크', '퍼트리밍',
    '퍼프', '페플럼', '포켓', '폼폼', '프린지', '프릴', '플레어', '플리츠',
  ],
  color: COLORS,
  sub_color: COLORS,
  print: [
    '그라데이션', '그래픽', '깅엄', '도트', '레터링', '무지', '믹스', '뱀피', '스트라이프', '아가일', '지그재그',
    '지브라', '체크', '카무플라쥬', '타이다이', '페이즐리', '플로럴', '하운즈투스', '하트', '해골', '호피',
  ],
  length: ['크롭', '노멀', '롱', '하프', '미니', '니렝스', '미디', '발목', '맥시'],
  sleeve_length: ['없음', '민소매', '반팔', '캡', '7부소매', '긴팔'],
  neckline: [
    '라운드넥', '유넥', '브이넥', '홀터넥', '오프숄더', '원숄더', '스퀘어넥', '노카라', '후드', '터틀넥', '보트넥',
    '스위트하트',
  ],
  collar: [
    '셔츠칼라', '보우칼라', '세일러칼라', '숄칼라', '폴로칼라', '피터팬칼라', '차이나칼라', '테일러드칼라', '밴드칼라',
    '너치드칼라',
  ],
};

/** Spelling variants seen in real labels, keyed after whitespace normalisation. */
export const VALUE_ALIASES: Readonly<Record<string, string>> = {
  노말: '노멀',
  홀토넥: '홀터넥',
  '원 숄더': '원숄더',
  테일러칼라: '테일러드칼라',
  '하운즈 투스': '하운즈투스',
};
